//! Taking secrets out of text that leaves the cluster (`export logs`): bootstrap tokens
//! (`abcdef.0123456789abcdef`, also inside `kubeadm join --token ...` lines), private key PEM
//! blocks, and the credential fields of kubeconfigs and kubeadm configurations.

/// YAML keys whose values are credentials.
const SECRET_KEYS: &[&str] = &[
    "client-key-data",
    "client-certificate-data",
    "token",
    "password",
    "certificateKey",
];

pub const REDACTED: &str = "REDACTED";

pub fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_private_key = false;
    for line in text.split_inclusive('\n') {
        if in_private_key {
            if line.contains("-----END") {
                in_private_key = false;
            }
            continue;
        }
        if line.contains("-----BEGIN") && line.contains("PRIVATE KEY-----") {
            in_private_key = !line.contains("-----END");
            out.push_str("<private key REDACTED>\n");
            continue;
        }
        out.push_str(&redact_tokens(&redact_secret_key(line)));
    }
    out
}

/// `  token: abc` → `  token: REDACTED` (the key as a YAML key, optionally a list item).
fn redact_secret_key(line: &str) -> String {
    let trimmed = line.trim_start().trim_start_matches("- ");
    for key in SECRET_KEYS {
        if let Some(rest) = trimmed.strip_prefix(key).and_then(|r| r.strip_prefix(':')) {
            if !rest.trim().is_empty() {
                let keep = line.len() - rest.len();
                let newline = if line.ends_with('\n') { "\n" } else { "" };
                return format!("{} {REDACTED}{newline}", &line[..keep]);
            }
        }
    }
    line.to_owned()
}

/// Every bootstrap-token-shaped word: 6 and 16 of `[a-z0-9]` around a dot.
fn redact_tokens(line: &str) -> String {
    let bytes = line.as_bytes();
    let word = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let mut out = String::with_capacity(line.len());
    let mut i = 0;
    let mut copied = 0;
    while i + 23 <= bytes.len() {
        let starts = i == 0 || !word(bytes[i - 1]);
        let shaped = starts
            && bytes[i..i + 6].iter().all(|b| word(*b))
            && bytes[i + 6] == b'.'
            && bytes[i + 7..i + 23].iter().all(|b| word(*b))
            && (i + 23 == bytes.len() || !word(bytes[i + 23]));
        if shaped {
            out.push_str(&line[copied..i]);
            out.push_str(REDACTED);
            i += 23;
            copied = i;
        } else {
            i += 1;
        }
    }
    out.push_str(&line[copied..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_keys_and_credentials_go() {
        let text = "kubeadm join 10.22.0.10:6443 --token abcdef.0123456789abcdef \\\n\
                    bootstrapTokens:\n- token: abcdef.0123456789abcdef\n  ttl: 24h\n\
                    users:\n- name: x\n  user:\n    client-key-data: S0VZ\n    client-certificate-data: Q0VSVA==\n\
                    -----BEGIN RSA PRIVATE KEY-----\nMIIEow\nabc\n-----END RSA PRIVATE KEY-----\n\
                    certificate-authority-data: Q0E=\nimage: registry/pause:3.9\nversion v1.28.7\n";
        let clean = redact(text);
        for secret in [
            "abcdef.0123456789abcdef",
            "S0VZ",
            "Q0VSVA==",
            "MIIEow",
            "PRIVATE KEY-----",
        ] {
            assert!(!clean.contains(secret), "{secret} left in\n{clean}");
        }
        for kept in [
            "--token REDACTED \\",
            "- token: REDACTED\n",
            "  ttl: 24h",
            "    client-key-data: REDACTED\n",
            "<private key REDACTED>\n",
            "certificate-authority-data: Q0E=",
            "image: registry/pause:3.9",
            "version v1.28.7",
        ] {
            assert!(clean.contains(kept), "{kept:?} missing in\n{clean}");
        }
        // Not token-shaped: longer words, upper case, other lengths.
        for same in [
            "abcdefg.0123456789abcdef",
            "ABCDEF.0123456789ABCDEF",
            "sha256:abc",
            "token:",
        ] {
            assert_eq!(redact(same), same);
        }
    }
}
