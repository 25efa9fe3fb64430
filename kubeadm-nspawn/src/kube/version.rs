//! Kubernetes version numbers as `--kube-version` takes them (`v1.28.7`, `1.28.7`, `stable`,
//! `stable-1.28`) and as binaries report them (`v1.31.0-rc.1`, `v1.29.0-alpha.2.15+0123abcd-dirty`).

use std::fmt;

/// A released version: `v` MAJOR.MINOR.PATCH, optionally `-` a pre-release (`rc.1`, `beta.0`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
    pub pre: Option<String>,
}

impl Version {
    /// `v1.28.7` or `1.28.7` (a released version: no build metadata).
    pub fn parse(text: &str) -> Result<Version, String> {
        let bad = || {
            format!(
                "\"{text}\" is not a Kubernetes version: expected v1.28.7, 1.28.7, stable or stable-1.28"
            )
        };
        let rest = text.strip_prefix('v').unwrap_or(text);
        let (numbers, pre) = match rest.split_once('-') {
            Some((n, p)) => (n, Some(p)),
            None => (rest, None),
        };
        let parts: Vec<&str> = numbers.split('.').collect();
        let [major, minor, patch] = parts.as_slice() else {
            return Err(bad());
        };
        let number = |s: &str| -> Result<u32, String> {
            if s.is_empty() || s.len() > 4 || !s.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            s.parse().map_err(|_| bad())
        };
        if let Some(pre) = pre {
            // kubernetes' own pre-releases: alpha.N, beta.N, rc.N.
            let ok = pre.split_once('.').is_some_and(|(kind, n)| {
                matches!(kind, "alpha" | "beta" | "rc") && number(n).is_ok()
            });
            if !ok {
                return Err(bad());
            }
        }
        Ok(Version {
            major: number(major)?,
            minor: number(minor)?,
            patch: number(patch)?,
            pre: pre.map(str::to_owned),
        })
    }

    /// MAJOR.MINOR of any version string a binary reports (`v1.31.0-alpha.2.15+abc-dirty` → 1.31);
    /// None for a string that does not start like a version.
    pub fn minor_of(text: &str) -> Option<(u32, u32)> {
        let rest = text.trim().strip_prefix('v').unwrap_or(text.trim());
        let mut parts = rest.split('.');
        let major = parts.next()?.parse().ok()?;
        let minor: String = parts
            .next()?
            .chars()
            .take_while(|c| c.is_ascii_digit())
            .collect();
        Some((major, minor.parse().ok()?))
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}.{}.{}", self.major, self.minor, self.patch)?;
        if let Some(pre) = &self.pre {
            write!(f, "-{pre}")?;
        }
        Ok(())
    }
}

/// What `--kube-version` asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wanted {
    Exact(Version),
    /// The newest stable release (the release site's `stable.txt`).
    Stable,
    /// The newest patch release of one minor (`stable-1.28.txt`).
    StableMinor(u32, u32),
}

impl Wanted {
    pub fn parse(text: &str) -> Result<Wanted, String> {
        match text.strip_prefix("stable") {
            Some("") => Ok(Wanted::Stable),
            Some(minor) => {
                let (major, minor) = minor
                    .strip_prefix('-')
                    .and_then(|m| m.split_once('.'))
                    .and_then(|(a, b)| Some((a.parse().ok()?, b.parse().ok()?)))
                    .filter(|_| minor.bytes().skip(1).all(|b| b.is_ascii_digit() || b == b'.'))
                    .ok_or_else(|| {
                        format!(
                            "\"{text}\" is not a release channel: expected stable or stable-MAJOR.MINOR (stable-1.28)"
                        )
                    })?;
                Ok(Wanted::StableMinor(major, minor))
            }
            None => Version::parse(text).map(Wanted::Exact),
        }
    }

    /// The release site's file that names the version of a channel (None for an exact version).
    pub fn channel_file(&self) -> Option<String> {
        match self {
            Wanted::Exact(_) => None,
            Wanted::Stable => Some("stable.txt".into()),
            Wanted::StableMinor(major, minor) => Some(format!("stable-{major}.{minor}.txt")),
        }
    }
}

impl fmt::Display for Wanted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Wanted::Exact(v) => v.fmt(f),
            Wanted::Stable => f.write_str("stable"),
            Wanted::StableMinor(major, minor) => write!(f, "stable-{major}.{minor}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_with_and_without_v() {
        let v = Version::parse("1.28.7").unwrap();
        assert_eq!(
            (v.major, v.minor, v.patch, v.pre.as_deref()),
            (1, 28, 7, None)
        );
        assert_eq!(v.to_string(), "v1.28.7");
        assert_eq!(Version::parse("v1.28.7").unwrap(), v);
        assert_eq!(
            Version::parse("v1.31.0-rc.1").unwrap().to_string(),
            "v1.31.0-rc.1"
        );
        for bad in [
            "",
            "v",
            "1.28",
            "v1.28.",
            "v1..7",
            "1.28.7.1",
            "v1.28.x",
            "v1.28.7-",
            "v1.28.7-rc",
            "v1.28.7-dirty.1",
            "v1.28.7+abc",
            "latest",
            "v 1.28.7",
            "v1.28.99999",
        ] {
            let err = Version::parse(bad).unwrap_err();
            assert!(err.contains("not a Kubernetes version"), "{bad}: {err}");
        }
    }

    #[test]
    fn channels_resolve_through_their_file() {
        assert_eq!(Wanted::parse("stable").unwrap(), Wanted::Stable);
        assert_eq!(
            Wanted::parse("stable-1.28").unwrap(),
            Wanted::StableMinor(1, 28)
        );
        assert_eq!(
            Wanted::parse("stable-1.28")
                .unwrap()
                .channel_file()
                .as_deref(),
            Some("stable-1.28.txt")
        );
        assert_eq!(Wanted::Stable.channel_file().as_deref(), Some("stable.txt"));
        assert_eq!(Wanted::parse("v1.28.7").unwrap().channel_file(), None);
        for bad in [
            "stable-",
            "stable-1",
            "stable-1.x",
            "stable1.28",
            "stable-1.28.7x",
        ] {
            assert!(Wanted::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_minor_of_what_binaries_report() {
        assert_eq!(Version::minor_of("v1.28.7"), Some((1, 28)));
        assert_eq!(
            Version::minor_of("v1.31.0-alpha.2.15+0123abcd-dirty"),
            Some((1, 31))
        );
        assert_eq!(Version::minor_of("1.9"), Some((1, 9)));
        assert_eq!(Version::minor_of("unknown"), None);
    }
}
