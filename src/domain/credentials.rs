//! Password hashing with argon2id. Verification of an unknown user runs
//! against a fixed dummy hash so timing does not reveal which emails exist.

use std::sync::LazyLock;

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::domain::values::NewPassword;

fn hasher() -> Argon2<'static> {
    // OWASP's recommended argon2id settings: 19 MiB, 2 passes, 1 lane.
    let params = Params::new(19 * 1024, 2, 1, None).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

pub fn hash_password(password: &NewPassword) -> anyhow::Result<String> {
    let hash = hasher().hash_password(password.expose().as_bytes()).map_err(|e| anyhow::anyhow!("hashing a password failed: {e}"))?;
    Ok(hash.to_string())
}

static DUMMY_HASH: LazyLock<String> =
    LazyLock::new(|| hash_password(&NewPassword::parse("not a real password at all").expect("valid")).expect("hash"));

/// True when `password` matches `stored`. With `None`, spends the same time and answers false.
pub fn verify_password(password: &str, stored: Option<&str>) -> bool {
    let hash = stored.unwrap_or(DUMMY_HASH.as_str());
    let ok = hasher().verify_password(password.as_bytes(), hash).is_ok();
    ok && stored.is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_is_argon2id_salted_and_verifies_only_its_password() {
        let pw = NewPassword::parse("correct horse battery").unwrap();
        let a = hash_password(&pw).unwrap();
        let b = hash_password(&pw).unwrap();
        assert!(a.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{a}");
        assert_ne!(a, b, "each hash has its own salt");
        assert!(verify_password("correct horse battery", Some(&a)));
        assert!(!verify_password("wrong horse battery", Some(&a)));
        assert!(!verify_password("not a real password at all", None));
    }
}
