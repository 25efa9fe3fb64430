//! kubeadm-nspawn's rule for cluster names, which kubetest2-nspawn checks too before it makes
//! anything: the name becomes host names, interface and network namespace names.

/// The longest name kubeadm-nspawn takes.
pub const MAX_LEN: usize = 32;

/// 1 to [`MAX_LEN`] lower-case letters, digits and '-', starting with a letter or digit.
pub fn is_valid(name: &str) -> bool {
    let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    !name.is_empty()
        && name.len() <= MAX_LEN
        && name.chars().next().is_some_and(allowed)
        && name.chars().all(|c| allowed(c) || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lower_case_letters_digits_and_inner_dashes_up_to_32() {
        for good in ["dev", "c1", "0-a", "a-", &"a".repeat(MAX_LEN)] {
            assert!(is_valid(good), "{good}");
        }
        for bad in [
            "",
            "-a",
            "Dev",
            "a_b",
            "a.b",
            "a b",
            &"a".repeat(MAX_LEN + 1),
        ] {
            assert!(!is_valid(bad), "{bad}");
        }
    }
}
