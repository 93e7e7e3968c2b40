//! The server secret that signs tokens: from config, or generated once into
//! the data directory with owner-only permissions.

use std::{fs, io::Write, os::unix::fs::OpenOptionsExt, path::Path};

use anyhow::Context;
use rand::RngExt as _;

/// The shortest secret accepted: a shorter one could be found offline from
/// a single token (HS256 tokens are HMACs of the secret).
pub const MIN_BYTES: usize = 32;

pub fn load_or_create(configured: &str, data_dir: &Path) -> anyhow::Result<Vec<u8>> {
    if !configured.is_empty() {
        return long_enough(configured, "auth.secret");
    }
    let path = data_dir.join("secret");
    match fs::read_to_string(&path) {
        Ok(existing) if !existing.trim().is_empty() => {
            return long_enough(existing.trim(), &path.display().to_string());
        }
        Ok(_) => anyhow::bail!(
            "{} is empty; delete it to generate a new secret",
            path.display()
        ),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
        Err(err) => return Err(err).with_context(|| format!("reading {}", path.display())),
    }
    fs::create_dir_all(data_dir).with_context(|| format!("creating {}", data_dir.display()))?;
    let bytes: [u8; 32] = rand::rng().random();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(hex.as_bytes())?;
    file.sync_all()?;
    Ok(hex.into_bytes())
}

fn long_enough(secret: &str, from: &str) -> anyhow::Result<Vec<u8>> {
    if secret.len() < MIN_BYTES {
        anyhow::bail!(
            "{from} is {} bytes; a token signing secret needs at least {MIN_BYTES} \
             (leave auth.secret empty to have one generated, or use `openssl rand -hex 32`)",
            secret.len()
        );
    }
    Ok(secret.as_bytes().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 18, defect 4.
    #[test]
    fn short_secrets_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let err = load_or_create("x", dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("auth.secret is 1 bytes") && err.contains("32"),
            "{err}"
        );
        assert!(load_or_create(&"k".repeat(31), dir.path()).is_err());
        assert_eq!(
            load_or_create(&"k".repeat(32), dir.path()).unwrap().len(),
            32
        );

        // A hand-edited secret file is held to the same rule.
        fs::write(dir.path().join("secret"), "short\n").unwrap();
        let err = load_or_create("", dir.path()).unwrap_err().to_string();
        assert!(err.contains("is 5 bytes"), "{err}");
        fs::remove_file(dir.path().join("secret")).unwrap();

        // The generated one is long enough, and read back the same.
        let generated = load_or_create("", dir.path()).unwrap();
        assert_eq!(generated.len(), 64);
        assert_eq!(load_or_create("", dir.path()).unwrap(), generated);
    }
}
