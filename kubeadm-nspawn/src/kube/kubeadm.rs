//! kubeadm's secrets and discovery: the bootstrap token and certificate key kubeadm-nspawn makes,
//! the CA hash joins pin, and the wait for the bootstrap signer. The documents kubeadm reads are
//! [`super::documents`].

use std::time::Duration;

use kns_node::Exec;
use kns_plumbing::poll::{self, Check, Stopped};

use super::error::{Error, Result};
use crate::host::error::Timeout;

/// `kubectl` in the node with kubeadm's admin credentials (a control plane, once `kubeadm init`
/// ran there).
pub fn admin_kubectl(node: &impl Exec, args: &[&str]) -> Result<String> {
    let mut all = vec!["kubectl", "--kubeconfig", "/etc/kubernetes/admin.conf"];
    all.extend_from_slice(args);
    Ok(node.run(&all)?)
}

/// kubeadm's discovery hash of the cluster CA, computed in the first node with its openssl:
/// `sha256:` + sha256 of the CA's DER SubjectPublicKeyInfo, as kubeadm computes it.
pub fn ca_cert_hash(first: &impl Exec) -> Result<String> {
    let out = first.run(&[
        "sh",
        "-c",
        "openssl x509 -pubkey -noout -in /etc/kubernetes/pki/ca.crt \
         | openssl pkey -pubin -outform der | sha256sum",
    ])?;
    let hex = out.split_whitespace().next().unwrap_or_default();
    if !kns_plumbing::hex::is_sha256(hex) {
        return Err(Error::NoCaHash {
            node: first.name().to_owned(),
            output: out.trim().to_owned(),
        });
    }
    Ok(format!("sha256:{hex}"))
}

/// Waits until the controller-manager's bootstrap signer has signed the `cluster-info` ConfigMap
/// for `token`. A join that starts before then fails discovery and retries only every few seconds
/// (measured: first joins took 20 s right after init, 2 s once signed).
pub fn wait_for_signed_cluster_info(
    first: &impl Exec,
    token: &str,
    timeout: Duration,
    every: Duration,
) -> Result<()> {
    let token_id = token.split('.').next().unwrap_or_default();
    let jsonpath = format!("jsonpath={{.data.jws-kubeconfig-{token_id}}}");
    let args = [
        "-n",
        "kube-public",
        "get",
        "configmap",
        "cluster-info",
        "-o",
        &jsonpath,
    ];
    let signed = poll::until(timeout, every, || match admin_kubectl(first, &args) {
        Ok(signature) if !signature.trim().is_empty() => Check::Done(()),
        Ok(_) => Check::Waiting("not signed yet".into()),
        Err(e) => Check::Failed(e),
    });
    match signed {
        Ok(_) => Ok(()),
        Err(Stopped::Interrupted) => Err(Error::Interrupted),
        Err(Stopped::Aborted(e)) => Err(e),
        Err(Stopped::TimedOut {
            waiting,
            last_error,
            after,
        }) => Err(Timeout {
            what: format!(
                "cluster-info signed for the bootstrap token on node \"{}\"",
                first.name()
            ),
            after,
            waiting,
            last_error: last_error.map(|e| e.to_string()),
            look: format!(
                "is kube-controller-manager running? `kubeadm-nspawn exec {} -- crictl ps -a`",
                first.name()
            ),
        }
        .into()),
    }
}

/// A certificate key for `kubeadm init --upload-certs`: 32 bytes from the kernel's random source,
/// in hex (AES-256, as `kubeadm certs certificate-key` makes one).
pub fn new_certificate_key() -> Result<String> {
    Ok(kns_plumbing::hex::encode(&random_bytes::<32>()?))
}

/// `N` bytes from the kernel's random source.
fn random_bytes<const N: usize>() -> Result<[u8; N]> {
    let mut bytes = [0u8; N];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut bytes))
        .map_err(|e| Error::io("read", "/dev/urandom", e))?;
    Ok(bytes)
}

/// A bootstrap token (`[a-z0-9]{6}.[a-z0-9]{16}`) from the kernel's random source.
pub fn new_token() -> Result<String> {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let chars: String = random_bytes::<22>()?
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect();
    Ok(format!("{}.{}", &chars[..6], &chars[6..]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use kns_node::exec::Script;
    use kns_plumbing::report::Hint;

    #[test]
    fn joins_wait_for_the_signature_of_their_token() {
        let first = Script::new("c-n0")
            .answer_times("kubectl", 2, 0, "")
            .answer("kubectl", 0, "eyJhbGciOi");
        wait_for_signed_cluster_info(
            &first,
            "abcdef.0123456789abcdef",
            Duration::from_secs(5),
            Duration::ZERO,
        )
        .unwrap();
        let calls = first.calls();
        assert_eq!(calls.len(), 3);
        assert!(
            calls[0].ends_with("cluster-info -o jsonpath={.data.jws-kubeconfig-abcdef}"),
            "{calls:?}"
        );
        assert!(
            calls[0].starts_with("kubectl --kubeconfig /etc/kubernetes/admin.conf -n kube-public")
        );
        let never = Script::new("c-n0").answer("kubectl", 1, "");
        let err = wait_for_signed_cluster_info(&never, "a.b", Duration::ZERO, Duration::ZERO)
            .unwrap_err();
        assert!(matches!(err, Error::Timeout(_)), "{err}");
        assert!(err.hint().unwrap().contains("crictl ps -a"));
        // What failed is said: kubectl's own error, not only "not done".
        assert!(err.to_string().contains("last error"), "{err}");
    }

    #[test]
    fn the_ca_hash_is_checked_for_its_shape() {
        let digest = "a".repeat(64);
        let first = Script::new("c-n0").answer("sh -c openssl", 0, &format!("{digest}  -\n"));
        assert_eq!(ca_cert_hash(&first).unwrap(), format!("sha256:{digest}"));
        let broken = Script::new("c-n0").answer("sh -c openssl", 0, "unable to load\n");
        assert!(ca_cert_hash(&broken)
            .unwrap_err()
            .to_string()
            .contains("no hash of the cluster CA's public key"));
    }

    #[test]
    fn tokens_and_keys_have_kubeadms_shape() {
        let token = new_token().unwrap();
        let (id, secret) = token.split_once('.').unwrap();
        assert_eq!((id.len(), secret.len()), (6, 16));
        assert!(token
            .chars()
            .all(|c| c == '.' || c.is_ascii_lowercase() || c.is_ascii_digit()));
        assert!(kns_plumbing::hex::is_sha256(
            &new_certificate_key().unwrap()
        ));
    }
}
