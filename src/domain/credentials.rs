//! Password hashing with argon2id. Verification of an unknown user runs
//! against a fixed dummy hash so timing does not reveal which emails exist.
//!
//! Each hash fills 19 MiB and keeps a core busy, so at most as many run at
//! once as there are cores (`Hashing`): a burst of sign-ins then waits its
//! turn instead of holding 19 MiB per waiting request, which only raised
//! the memory in use (to over 270 MB for 16 at once) and finished no
//! sooner.

use std::sync::{Condvar, LazyLock, Mutex};

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::domain::values::NewPassword;

fn hasher() -> Argon2<'static> {
    // OWASP's recommended argon2id settings: 19 MiB, 2 passes, 1 lane.
    let params = Params::new(19 * 1024, 2, 1, None).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// A count of the hashes running, which waits while it is at its limit.
struct Hashing {
    counts: Mutex<Counts>,
    freed: Condvar,
    limit: usize,
}

#[derive(Default)]
struct Counts {
    running: usize,
    waiting: usize,
}

/// A hash's turn, given back when dropped.
struct Turn<'a>(&'a Hashing);

impl Hashing {
    fn new(limit: usize) -> Hashing {
        Hashing { counts: Mutex::new(Counts::default()), freed: Condvar::new(), limit: limit.max(1) }
    }

    fn counts(&self) -> std::sync::MutexGuard<'_, Counts> {
        self.counts.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn turn(&self) -> Turn<'_> {
        let mut counts = self.counts();
        counts.waiting += 1;
        while counts.running >= self.limit {
            counts = self.freed.wait(counts).unwrap_or_else(|e| e.into_inner());
        }
        counts.waiting -= 1;
        counts.running += 1;
        Turn(self)
    }
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        self.0.counts().running -= 1;
        self.0.freed.notify_one();
    }
}

static HASHING: LazyLock<Hashing> = LazyLock::new(|| Hashing::new(std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)));

/// Every hashing turn, held until dropped: meanwhile each hash (a sign-in,
/// a new password) waits for its turn. For tests of what goes on while a
/// burst of hashes waits.
#[doc(hidden)]
pub struct EveryTurn(#[allow(dead_code)] Vec<Turn<'static>>);

#[doc(hidden)]
pub fn hold_every_turn() -> EveryTurn {
    EveryTurn((0..HASHING.limit).map(|_| HASHING.turn()).collect())
}

/// How many hashes are waiting for their turn now.
#[doc(hidden)]
pub fn hashes_waiting() -> usize {
    HASHING.counts().waiting
}

pub fn hash_password(password: &NewPassword) -> anyhow::Result<String> {
    let _turn = HASHING.turn();
    let hash = hasher().hash_password(password.expose().as_bytes()).map_err(|e| anyhow::anyhow!("hashing a password failed: {e}"))?;
    Ok(hash.to_string())
}

/// Hashes several new passwords side by side, in order: one thread for
/// each hashing turn (as many as there are cores), each taking its share.
pub fn hash_passwords(passwords: &[NewPassword]) -> anyhow::Result<Vec<String>> {
    if passwords.is_empty() {
        return Ok(Vec::new());
    }
    let share = passwords.len().div_ceil(HASHING.limit.min(passwords.len()));
    std::thread::scope(|s| {
        let threads: Vec<_> = passwords
            .chunks(share)
            .map(|part| s.spawn(move || part.iter().map(hash_password).collect::<anyhow::Result<Vec<String>>>()))
            .collect();
        let mut hashes = Vec::with_capacity(passwords.len());
        for t in threads {
            hashes.extend(t.join().map_err(|_| anyhow::anyhow!("a hashing thread panicked"))??);
        }
        Ok(hashes)
    })
}

static DUMMY_HASH: LazyLock<String> =
    LazyLock::new(|| hash_password(&NewPassword::parse("not a real password at all").expect("valid")).expect("hash"));

/// True when `password` matches `stored`. With `None`, spends the same time and answers false.
pub fn verify_password(password: &str, stored: Option<&str>) -> bool {
    let hash = stored.unwrap_or(DUMMY_HASH.as_str());
    let _turn = HASHING.turn();
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

    #[test]
    fn passwords_hashed_side_by_side_come_back_in_order() {
        let words = ["first password here", "second password here", "third password here"];
        let passwords: Vec<NewPassword> = words.iter().map(|w| NewPassword::parse(w).unwrap()).collect();
        let hashes = hash_passwords(&passwords).unwrap();
        assert_eq!(hashes.len(), 3);
        for (i, hash) in hashes.iter().enumerate() {
            for (j, word) in words.iter().enumerate() {
                assert_eq!(verify_password(word, Some(hash)), i == j, "hash {i} against password {j}");
            }
        }
        assert!(hash_passwords(&[]).unwrap().is_empty());
    }

    #[test]
    fn no_more_hashes_run_at_once_than_the_limit() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::Arc;
        let hashing = Arc::new(Hashing::new(2));
        let (now, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (hashing, now, most) = (hashing.clone(), now.clone(), most.clone());
                std::thread::spawn(move || {
                    let _turn = hashing.turn();
                    let running = now.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(running, Ordering::SeqCst);
                    std::thread::sleep(std::time::Duration::from_millis(20));
                    now.fetch_sub(1, Ordering::SeqCst);
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(most.load(Ordering::SeqCst), 2, "two ran together, never more");
        let counts = hashing.counts();
        assert_eq!((counts.running, counts.waiting), (0, 0), "every turn was given back, nobody waits");
    }
}
