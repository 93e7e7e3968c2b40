//! Console passwords: argon2id with OWASP's recommended parameters (19 MiB
//! of memory, 2 passes, 1 lane: the `argon2` crate's defaults), stored as
//! PHC strings that carry their own parameters and salt, so a later change
//! of parameters still verifies old hashes.

use argon2::{
    Argon2, PasswordHash, PasswordHasher, PasswordVerifier,
    password_hash::{SaltString, rand_core::OsRng},
};

use crate::error::{Error, Result};

/// Shortest and longest password accepted (characters). The upper bound
/// keeps one sign-in from costing more than hashing needs.
pub const MIN_LEN: usize = 10;
pub const MAX_LEN: usize = 1024;

/// A password as a person chose it: long enough, not absurdly long.
pub fn check_new(field: &str, password: &str) -> Result<()> {
    let len = password.chars().count();
    if len < MIN_LEN {
        return Err(Error::invalid(
            field,
            format!("must be at least {MIN_LEN} characters"),
        ));
    }
    if len > MAX_LEN {
        return Err(Error::invalid(
            field,
            format!("must be at most {MAX_LEN} characters"),
        ));
    }
    Ok(())
}

/// The PHC string of a new hash with a fresh random salt.
pub fn hash(password: &str) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|err| Error::Internal(anyhow::anyhow!("hashing a password: {err}")))
}

/// Whether `password` matches `stored`. No account (`stored` None) costs
/// the same as a wrong password, so timing does not tell which emails have
/// an account.
pub fn verify(stored: Option<&str>, password: &str) -> bool {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let dummy = DUMMY.get_or_init(|| hash("not a password of anyone").unwrap_or_default());
    let (phc, real) = match stored {
        Some(phc) => (phc, true),
        None => (dummy.as_str(), false),
    };
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    let matches = Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok();
    matches && real
}

/// Password hashing takes tens of milliseconds of CPU: off the async
/// workers.
pub async fn hash_blocking(password: String) -> Result<String> {
    tokio::task::spawn_blocking(move || hash(&password))
        .await
        .map_err(|err| Error::Internal(anyhow::anyhow!("hashing a password: {err}")))?
}

pub async fn verify_blocking(stored: Option<String>, password: String) -> bool {
    tokio::task::spawn_blocking(move || verify(stored.as_deref(), &password))
        .await
        .unwrap_or(false)
}

/// An email as accounts are found by: trimmed, lower case, one `@` with
/// text on both sides and a dot in the domain, at most 254 characters.
pub fn normalise_email(field: &str, email: &str) -> Result<String> {
    let email = email.trim().to_lowercase();
    if email.is_empty() {
        return Err(Error::required(field));
    }
    let valid = email.len() <= 254
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        });
    if !valid {
        return Err(Error::invalid(
            field,
            "must be an email address like name@example.com",
        ));
    }
    Ok(email)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only() {
        let phc = hash("correct horse battery").unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(verify(Some(&phc), "correct horse battery"));
        assert!(!verify(Some(&phc), "correct horse batterx"));
        assert!(!verify(None, "correct horse battery"));
        assert!(!verify(Some("not a phc string"), "x"));
        // Two hashes of one password differ (fresh salts).
        assert_ne!(phc, hash("correct horse battery").unwrap());
    }

    #[test]
    fn new_passwords_and_emails_are_checked() {
        assert!(check_new("password", "short").is_err());
        assert!(check_new("password", &"x".repeat(MAX_LEN + 1)).is_err());
        check_new("password", "long enough!").unwrap();
        assert_eq!(
            normalise_email("email", "  Ana@Example.COM ").unwrap(),
            "ana@example.com"
        );
        for bad in [
            "",
            "ana",
            "@example.com",
            "ana@",
            "ana@example",
            "a b@c.de",
            "a@b@c.de",
        ] {
            assert!(normalise_email("email", bad).is_err(), "{bad:?}");
        }
    }
}
