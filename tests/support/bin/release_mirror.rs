//! A release mirror for the tests: serves a directory over HTTP/1.1 on 127.0.0.1 (a port the
//! kernel picks, printed as the first line of stdout), logs every request, and can cut chosen
//! files short (the full Content-Length announced, half the bytes sent, the connection closed).
//! Started by a test and stopped by it, by PID.
//!
//!     kns-release-mirror ROOT LOG [--cut PATH-SUFFIX]...

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (root, log) = match (args.first(), args.get(1)) {
        (Some(root), Some(log)) => (PathBuf::from(root), PathBuf::from(log)),
        _ => {
            eprintln!("usage: kns-release-mirror ROOT LOG [--cut PATH-SUFFIX]...");
            std::process::exit(2);
        }
    };
    let cut: Vec<String> = args[2..]
        .chunks(2)
        .filter(|pair| pair[0] == "--cut" && pair.len() == 2)
        .map(|pair| pair[1].clone())
        .collect();
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
    let port = listener.local_addr().expect("local address").port();
    println!("{port}");
    std::io::stdout().flush().expect("stdout");
    let log = Arc::new(Mutex::new(
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .expect("open the log"),
    ));
    let cut = Arc::new(cut);
    let root = Arc::new(root);
    for stream in listener.incoming().flatten() {
        let (root, log, cut) = (root.clone(), log.clone(), cut.clone());
        std::thread::spawn(move || {
            let _ = serve(stream, &root, &log, &cut);
        });
    }
}

fn serve(
    mut stream: TcpStream,
    root: &Path,
    log: &Mutex<std::fs::File>,
    cut: &[String],
) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request = String::new();
    reader.read_line(&mut request)?;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 || header == "\r\n" || header == "\n" {
            break;
        }
    }
    let mut parts = request.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or("/"));
    let path = target.split('?').next().unwrap_or("/");
    let relative = Path::new(path.trim_start_matches('/'));
    let safe = relative
        .components()
        .all(|c| matches!(c, Component::Normal(_)));
    let file = root.join(relative);
    let found = match std::fs::File::open(&file) {
        Ok(f) if method == "GET" && safe && file.is_file() => Some(f),
        _ => None,
    };
    let status = if found.is_some() { 200 } else { 404 };
    let is_cut = status == 200 && cut.iter().any(|suffix| path.ends_with(suffix.as_str()));
    if let Ok(mut log) = log.lock() {
        let _ = writeln!(
            log,
            "{method} {path} {status}{}",
            if is_cut { " cut" } else { "" }
        );
    }
    let reason = if status == 200 { "OK" } else { "Not Found" };
    let length = match &found {
        Some(f) => f.metadata()?.len(),
        None => 10,
    };
    write!(
        stream,
        "HTTP/1.1 {status} {reason}\r\nContent-Length: {length}\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n"
    )?;
    match found {
        Some(f) => {
            let sent = if is_cut { length / 2 } else { length };
            std::io::copy(&mut f.take(sent), &mut stream)?;
        }
        None => stream.write_all(b"not found\n")?,
    }
    stream.flush()?;
    // Drain what the client may still send, so the close is a clean FIN, not a reset.
    stream.shutdown(std::net::Shutdown::Write)?;
    let mut rest = [0u8; 512];
    let _ = reader.get_mut().read(&mut rest);
    Ok(())
}
