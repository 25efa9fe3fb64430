//! Privileged tests of rootfs-builder: the download method against a loopback HTTP server serving
//! tarballs the test builds (good, wrong sha256, truncated, hostile), and a real debootstrap build in
//! the shared cache, booted with systemd-nspawn until containerd answers.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use kns_integration_tests::{
    bin, privileged_test, require_root, serial, unique_prefix, LeakCheck, PrefixSweeper, TestNode,
};
use serde_json::Value;
use sha2::{Digest, Sha256};

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Serves `body` for every request on 127.0.0.1 until dropped. Loopback only, a bounded number of
/// requests.
struct LoopbackServer {
    url: String,
    handle: Option<std::thread::JoinHandle<()>>,
    port: u16,
}

impl LoopbackServer {
    fn serve(body: Vec<u8>, max_requests: usize) -> Self {
        Self::serve_slowly(body, max_requests, Duration::ZERO)
    }

    /// Sends the first half of the body, waits `stall`, then the rest: a download that is still
    /// under way when the test acts.
    fn serve_slowly(body: Vec<u8>, max_requests: usize, stall: Duration) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let handle = std::thread::spawn(move || {
            for stream in listener.incoming().take(max_requests) {
                let Ok(mut stream) = stream else { continue };
                let mut request = [0u8; 4096];
                let n = stream.read(&mut request).unwrap_or(0);
                if n == 0 || request.starts_with(b"QUIT") {
                    break;
                }
                let header = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(header.as_bytes());
                let half = body.len() / 2;
                let _ = stream.write_all(&body[..half]);
                let _ = stream.flush();
                std::thread::sleep(stall);
                let _ = stream.write_all(&body[half..]);
            }
        });
        LoopbackServer {
            url: format!("http://127.0.0.1:{port}/rootfs.tar.gz"),
            handle: Some(handle),
            port,
        }
    }
}

impl Drop for LoopbackServer {
    fn drop(&mut self) {
        if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", self.port)) {
            let _ = s.write_all(b"QUIT");
        }
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// A header with owner root, a fixed mtime and no size yet.
fn header(kind: tar::EntryType, mode: u32) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(mode);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(1_700_000_000);
    h.set_size(0);
    h
}

/// A tiny rootfs tarball: a directory, a file, an absolute symlink (fine in a rootfs), /dev/null.
fn good_tar() -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut dir = header(tar::EntryType::Directory, 0o755);
    b.append_data(&mut dir, "./etc/", std::io::empty()).unwrap();
    let content = b"knst-rootfs\n";
    let mut file = header(tar::EntryType::Regular, 0o644);
    file.set_size(content.len() as u64);
    b.append_data(&mut file, "./etc/os-release", &content[..])
        .unwrap();
    let mut link = header(tar::EntryType::Symlink, 0o777);
    b.append_link(&mut link, "./etc/localtime", "/usr/share/zoneinfo/UTC")
        .unwrap();
    let mut null = header(tar::EntryType::Char, 0o666);
    null.set_device_major(1).unwrap();
    null.set_device_minor(3).unwrap();
    b.append_data(&mut null, "./dev/null", std::io::empty())
        .unwrap();
    b.into_inner().unwrap()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

/// A tarball with one entry whose raw header says `path` (and `link` for symlinks), written
/// byte-for-byte so the tar crate's own path checks do not stop the test from making it.
fn hostile_tar(path: &str, kind: tar::EntryType, link: Option<&str>) -> Vec<u8> {
    let mut header = tar::Header::new_old();
    {
        let old = header.as_old_mut();
        old.name[..path.len()].copy_from_slice(path.as_bytes());
        if let Some(link) = link {
            old.linkname[..link.len()].copy_from_slice(link.as_bytes());
        }
    }
    header.set_entry_type(kind);
    header.set_mode(0o644);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(1_700_000_000);
    let body = b"evil\n";
    header.set_size(if kind == tar::EntryType::Regular {
        body.len() as u64
    } else {
        0
    });
    header.set_cksum();
    let mut out = header.as_bytes().to_vec();
    if kind == tar::EntryType::Regular {
        let mut block = [0u8; 512];
        block[..body.len()].copy_from_slice(body);
        out.extend_from_slice(&block);
    }
    out.extend_from_slice(&[0u8; 1024]);
    out
}

/// `build --method download --url URL --sha256 SUM --cache-dir CACHE` plus `extra`.
fn download_args<'a>(
    url: &'a str,
    sha256: &'a str,
    cache: &'a str,
    extra: &[&'a str],
) -> Vec<&'a str> {
    let mut args = vec![
        "build",
        "--method",
        "download",
        "--url",
        url,
        "--sha256",
        sha256,
        "--cache-dir",
        cache,
    ];
    args.extend(extra);
    args
}

fn rootfs_builder(args: &[&str]) -> Output {
    Command::new(bin("rootfs-builder"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn json_line(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "rootfs-builder failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        stdout.lines().count(),
        1,
        "one JSON line expected: {stdout}"
    );
    serde_json::from_str(stdout.trim()).unwrap()
}

/// Non-zero exit, an `error:` first line containing `expected`, nothing on stdout.
fn assert_fails(out: &Output, expected: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "expected failure; stderr: {stderr}");
    assert!(out.stdout.is_empty());
    let error_line = stderr
        .lines()
        .find(|l| l.starts_with("error: "))
        .unwrap_or_else(|| panic!("no error line: {stderr}"));
    assert!(
        error_line.contains(expected),
        "expected {expected:?} in {error_line:?}"
    );
}

/// Names in the cache directory: complete entries and anything else (staging leftovers).
fn cache_entries(cache: &Path) -> Vec<String> {
    std::fs::read_dir(cache)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n != ".locks")
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn download_method_builds_caches_lists_and_gcs() {
    privileged_test("download_method_builds_caches_lists_and_gcs", |sweeper| {
        let cache = sweeper.workdir.join("images");
        let cache_arg = cache.to_str().unwrap();
        let archive = gzip(&good_tar());
        let sum = sha256_hex(&archive);
        let server = LoopbackServer::serve(archive.clone(), 4);

        let args = download_args(&server.url, &sum, cache_arg, &[]);
        let built = json_line(&rootfs_builder(&args));
        assert_eq!(built["method"], "download");
        assert_eq!(built["cached"], false);
        let rootfs = PathBuf::from(built["path"].as_str().unwrap());
        assert_eq!(
            rootfs,
            cache.join(built["key"].as_str().unwrap()).join("rootfs")
        );
        assert_eq!(
            std::fs::read_to_string(rootfs.join("etc/os-release")).unwrap(),
            "knst-rootfs\n"
        );
        assert_eq!(
            std::fs::read_link(rootfs.join("etc/localtime")).unwrap(),
            Path::new("/usr/share/zoneinfo/UTC")
        );
        // The node recipe is applied on top of whatever the tarball had.
        assert!(
            std::fs::read_to_string(rootfs.join("etc/containerd/config.toml"))
                .unwrap()
                .contains("restrict_oom_score_adj = true")
        );
        assert!(built["bytes"].as_u64().unwrap() > 0);

        // Same content from a file:// URL (and upper-case hex): the same key, from the cache.
        let file = sweeper.workdir.join("rootfs.tar.gz");
        std::fs::write(&file, &archive).unwrap();
        let url = format!("file://{}", file.display());
        let upper = sum.to_uppercase();
        let t = Instant::now();
        let again = json_line(&rootfs_builder(&download_args(
            &url,
            &upper,
            cache_arg,
            &[],
        )));
        println!("cache hit took {:?}", t.elapsed());
        assert_eq!(again["cached"], true);
        assert_eq!(again["key"], built["key"]);

        // --force rebuilds the entry in place.
        let forced = json_line(&rootfs_builder(&download_args(
            &url,
            &sum,
            cache_arg,
            &["--force"],
        )));
        assert_eq!(
            (forced["cached"].clone(), forced["key"].clone()),
            (Value::Bool(false), built["key"].clone())
        );

        let listed = rootfs_builder(&["list", "--json", "--cache-dir", cache_arg]);
        let listed: Value = serde_json::from_slice(&listed.stdout).unwrap();
        assert_eq!(listed.as_array().unwrap().len(), 1);

        // gc keeps an image a cluster's state.json names, removes it once none does.
        let clusters = sweeper.workdir.join("clusters");
        std::fs::create_dir_all(clusters.join("c1")).unwrap();
        std::fs::write(
            clusters.join("c1/state.json"),
            format!("{{\"image\":{{\"key\":{}}}}}", built["key"]),
        )
        .unwrap();
        let gc_args = [
            "gc",
            "--cache-dir",
            cache_arg,
            "--clusters-dir",
            clusters.to_str().unwrap(),
        ];
        let kept = json_line(&rootfs_builder(&gc_args));
        assert_eq!(kept["removed"].as_array().unwrap().len(), 0);
        std::fs::remove_dir_all(clusters.join("c1")).unwrap();
        let removed = json_line(&rootfs_builder(&gc_args));
        assert_eq!(removed["removed"][0], built["key"]);
        assert!(!rootfs.exists());
        assert!(
            cache_entries(&cache).is_empty(),
            "{:?}",
            cache_entries(&cache)
        );
    });
}

#[test]
fn bad_archives_fail_before_anything_lands_in_the_cache() {
    privileged_test(
        "bad_archives_fail_before_anything_lands_in_the_cache",
        |sweeper| {
            let cache = sweeper.workdir.join("images");
            let cache_arg = cache.to_str().unwrap();
            let good = gzip(&good_tar());
            let mut truncated = good_tar();
            truncated.truncate(700); // inside the second entry's data
            let truncated = gzip(&truncated);
            let evil_target = sweeper.workdir.join("evil");
            let dotdot = format!("../../../../../../../..{}", evil_target.display());
            let cases: Vec<(&str, Vec<u8>, Option<String>, &str)> = vec![
                (
                    "wrong sha256",
                    good.clone(),
                    Some("0".repeat(64)),
                    "sha256 mismatch",
                ),
                ("truncated", truncated, None, "corrupt or truncated"),
                (
                    "../evil",
                    hostile_tar(&dotdot, tar::EntryType::Regular, None),
                    None,
                    "path contains '..'",
                ),
                (
                    "absolute",
                    hostile_tar(evil_target.to_str().unwrap(), tar::EntryType::Regular, None),
                    None,
                    "absolute path",
                ),
                (
                    "escaping symlink",
                    hostile_tar(
                        "etc/escape",
                        tar::EntryType::Symlink,
                        Some("../../../../etc/shadow"),
                    ),
                    None,
                    "escapes the root",
                ),
                (
                    "block device",
                    hostile_tar("dev/sda", tar::EntryType::Block, None),
                    None,
                    "block device",
                ),
            ];
            for (case, body, sha, expected) in cases {
                let sha = sha.unwrap_or_else(|| sha256_hex(&body));
                let server = LoopbackServer::serve(body, 1);
                let out = rootfs_builder(&download_args(&server.url, &sha, cache_arg, &[]));
                assert_fails(&out, expected);
                assert!(
                    cache_entries(&cache).is_empty(),
                    "{case}: the cache holds {:?}",
                    cache_entries(&cache)
                );
                assert!(
                    !evil_target.exists(),
                    "{case}: a file was written outside the root"
                );
            }
        },
    );
}

#[test]
fn concurrent_builds_of_one_key_wait_and_an_interrupted_build_leaves_nothing() {
    privileged_test(
        "concurrent_builds_of_one_key_wait_and_an_interrupted_build_leaves_nothing",
        |sweeper| {
            let cache = sweeper.workdir.join("images");
            let cache_arg = cache.to_str().unwrap();
            let archive = gzip(&good_tar());
            let sum = sha256_hex(&archive);

            // Two builds of one key at once: one builds, the other waits for its lock and then takes
            // the finished entry from the cache.
            let server =
                LoopbackServer::serve_slowly(archive.clone(), 2, Duration::from_millis(500));
            let spawn = || {
                Command::new(bin("rootfs-builder"))
                    .args(download_args(&server.url, &sum, cache_arg, &[]))
                    .stdin(Stdio::null())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            };
            let (first, second) = (spawn(), spawn());
            let results: Vec<Value> = [first, second]
                .into_iter()
                .map(|c| json_line(&c.wait_with_output().unwrap()))
                .collect();
            let cached: Vec<bool> = results
                .iter()
                .map(|r| r["cached"].as_bool().unwrap())
                .collect();
            assert!(
                cached.contains(&true) && cached.contains(&false),
                "one builds, one waits: {results:?}"
            );
            assert_eq!(results[0]["key"], results[1]["key"]);
            drop(server);

            // SIGINT while the download is under way: the build stops and removes its staging dir.
            let server = LoopbackServer::serve_slowly(archive, 1, Duration::from_millis(1500));
            let child = Command::new(bin("rootfs-builder"))
                .args(download_args(&server.url, &sum, cache_arg, &["--force"]))
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            std::thread::sleep(Duration::from_millis(500));
            // SAFETY: the PID is the child this test started.
            unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
            let out = child.wait_with_output().unwrap();
            assert_fails(&out, "interrupted");
            let left: Vec<String> = cache_entries(&cache)
                .into_iter()
                .filter(|e| e.starts_with(".build-"))
                .collect();
            assert!(left.is_empty(), "staging left behind: {left:?}");
            // The entry built before is untouched: --force replaces it only once a new one is complete.
            let key = results[0]["key"].as_str().unwrap();
            assert!(cache.join(key).join("rootfs/etc/os-release").exists());
        },
    );
}

#[test]
fn bad_arguments_and_non_root_fail_cleanly() {
    privileged_test("bad_arguments_and_non_root_fail_cleanly", |sweeper| {
        let cache = sweeper.workdir.join("images");
        let cache_arg = cache.to_str().unwrap();
        let sha = "a".repeat(64);
        let cases: Vec<(Vec<&str>, &str)> = vec![
            (
                vec!["--method", "download", "--sha256", &sha],
                "needs --url",
            ),
            (
                vec!["--method", "download", "--url", "http://127.0.0.1:9/x"],
                "needs --sha256",
            ),
            (
                vec![
                    "--method",
                    "download",
                    "--url",
                    "ftp://x/y",
                    "--sha256",
                    &sha,
                ],
                "use http://",
            ),
            (
                vec![
                    "--method",
                    "download",
                    "--url",
                    "file:///x",
                    "--sha256",
                    "123",
                ],
                "not 64 hex digits",
            ),
            (vec!["--url", "file:///x"], "go with --method download"),
            (vec!["--suite", "../etc"], "not a Debian suite name"),
            (
                vec![
                    "--method",
                    "download",
                    "--url",
                    "file:///nonexistent/knst.tar",
                    "--sha256",
                    &sha,
                ],
                "download file:///nonexistent/knst.tar",
            ),
        ];
        for (args, expected) in cases {
            let mut all = vec!["build", "--cache-dir", cache_arg];
            all.extend(args);
            assert_fails(&rootfs_builder(&all), expected);
            assert!(cache_entries(&cache).is_empty());
        }
        let out = Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(bin("rootfs-builder"))
            .args(["build", "--cache-dir", cache_arg])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert_fails(&out, "run it as root");
    });
}

/// Builds (or reuses) the debootstrap base in the shared cache; returns its JSON line.
fn shared_base(method: &str) -> Value {
    let t = Instant::now();
    let out = Command::new(bin("rootfs-builder"))
        .args(["build", "--method", method])
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .unwrap();
    let built = json_line(&out);
    println!(
        "rootfs-builder build --method {method}: {:?}, {built}",
        t.elapsed()
    );
    built
}

fn boot_and_check(base: &Value, node_suffix: &str) {
    let sweeper = PrefixSweeper::new(&unique_prefix());
    let name = format!("{}-{node_suffix}", sweeper.prefix);
    let mut node = TestNode::boot(
        Path::new(base["path"].as_str().unwrap()),
        &name,
        &sweeper.workdir,
    );
    let t = Instant::now();
    let (state, failed) = node.wait_booted(Duration::from_secs(90));
    println!("{name} booted to {state} in {:?}", t.elapsed());
    let unexpected: Vec<_> = failed
        .iter()
        .filter(|u| !kns_node::boot::EXPECTED_FAILED_UNITS.contains(&u.as_str()))
        .collect();
    assert!(
        unexpected.is_empty(),
        "failed units in the node: {unexpected:?}"
    );
    let mut ctr = node.exec(&["ctr", "version"]);
    for _ in 0..50 {
        if ctr.status.success() {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
        ctr = node.exec(&["ctr", "version"]);
    }
    let stdout = String::from_utf8_lossy(&ctr.stdout);
    assert!(
        ctr.status.success() && stdout.contains("Server:"),
        "ctr version: {stdout}{}",
        String::from_utf8_lossy(&ctr.stderr)
    );
    // The recipe's cgroup service made the v1 hierarchies writable for kubelet and runc.
    let mounts = node.exec(&["findmnt", "-n", "-o", "OPTIONS", "/sys/fs/cgroup/memory"]);
    let options = String::from_utf8_lossy(&mounts.stdout);
    assert!(
        options.starts_with("rw"),
        "cgroup memory is mounted {options}"
    );
    let t = Instant::now();
    node.stop(Duration::from_secs(20));
    println!("{name} powered off in {:?}", t.elapsed());
}

#[test]
fn debootstrap_base_boots_and_runs_containerd() {
    if !require_root("debootstrap_base_boots_and_runs_containerd") {
        return;
    }
    let _serial = serial();
    // Outside the leak check: the shared cache entry is meant to stay for later tests and runs.
    let base = shared_base("debootstrap");
    let t = Instant::now();
    let again = shared_base("debootstrap");
    println!("second build (cache hit): {:?}", t.elapsed());
    assert_eq!(again["cached"], true);
    assert_eq!(again["key"], base["key"]);

    let leak = LeakCheck::start();
    boot_and_check(&base, "deb");
    leak.assert_clean("booting the debootstrap base");
}

/// mkosi builds in about 40 s here, under the 5 minutes that would make it opt-in.
#[test]
fn mkosi_base_boots_and_runs_containerd() {
    if !require_root("mkosi_base_boots_and_runs_containerd") {
        return;
    }
    let _serial = serial();
    let base = shared_base("mkosi");
    assert_eq!(base["method"], "mkosi");
    let leak = LeakCheck::start();
    boot_and_check(&base, "mkosi");
    leak.assert_clean("booting the mkosi base");
}
