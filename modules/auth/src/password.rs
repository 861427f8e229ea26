//! Password hashing (argon2id, OWASP parameters) and the password policy.

use crate::config::AuthConfig;
use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use keiyaku_kernel::FieldCode;
use keiyaku_kernel::error::Lang;
use keiyaku_kernel::validate::{Invalid, Rule};
use rand::Rng;
use std::sync::{LazyLock, Mutex, PoisonError};
use tokio::sync::{Semaphore, SemaphorePermit};

pub const PASSWORD_MAX: usize = 128;

/// OWASP: m = 19 MiB, t = 2, p = 1.
fn params() -> Params {
    Params::new(19 * 1024, 2, 1, None).unwrap_or_default()
}

/// The 19 MiB working memories of finished argon2 runs, kept for the next ones (at most one
/// per run the bound lets go at once). Allocating them afresh for every run made the
/// allocator keep freed ones around per thread: RSS grew to about 1 GB under a login burst.
static MEMORY: Mutex<Vec<Vec<Block>>> = Mutex::new(Vec::new());

/// Runs `f` with working memory of `blocks` argon2 blocks, reused when one is free.
fn with_memory<R>(blocks: usize, f: impl FnOnce(&mut [Block]) -> R) -> R {
    let kept = MEMORY.lock().unwrap_or_else(PoisonError::into_inner).pop();
    let mut memory = match kept {
        Some(m) if m.len() == blocks => m,
        _ => vec![Block::default(); blocks],
    };
    let out = f(&mut memory);
    let mut pool = MEMORY.lock().unwrap_or_else(PoisonError::into_inner);
    if pool.len() < hashing_limit() && memory.len() == params().block_count() {
        pool.push(memory);
    }
    out
}

/// Hashes a password into a PHC string (argon2id, a random 16-byte salt).
pub fn hash(password: &str) -> Result<String, String> {
    let params = params();
    let mut salt = [0u8; 16];
    rand::rng().fill(&mut salt[..]);
    let mut out = [0u8; 32];
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    with_memory(params.block_count(), |m| {
        argon2.hash_password_into_with_memory(password.as_bytes(), &salt, &mut out, m)
    })
    .map_err(|e| e.to_string())?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|e| e.to_string())?,
        salt: Some(Salt::new(&salt).map_err(|e| e.to_string())?),
        hash: Some(Output::new(&out).map_err(|e| e.to_string())?),
    };
    Ok(phc.to_string())
}

/// Checks a password against a PHC string (with the parameters it names); false for any
/// malformed hash. The comparison takes the same time wherever the outputs differ.
pub fn verify(password: &str, phc: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else { return false };
    let (Ok(algorithm), Ok(params)) = (Algorithm::new(parsed.algorithm.as_str()), Params::try_from(&parsed)) else {
        return false;
    };
    let version = match parsed.version.map(Version::try_from) {
        None => Version::default(),
        Some(Ok(v)) => v,
        Some(Err(_)) => return false,
    };
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else { return false };
    let mut out = vec![0u8; expected.len()];
    let argon2 = Argon2::new(algorithm, version, params.clone());
    let done = with_memory(params.block_count(), |m| {
        argon2.hash_password_into_with_memory(password.as_bytes(), &salt, &mut out, m)
    });
    done.is_ok() && Output::new(&out).is_ok_and(|o| o == expected)
}

/// One argon2 run per core may go at once in this process, whoever asks: login, password
/// changes, createUser, certificate PINs. Each run takes 19 MiB, so an unbounded burst of
/// requests would run the appliance out of memory.
static LIMIT: LazyLock<Semaphore> = LazyLock::new(|| Semaphore::new(hashing_limit()));

/// How many argon2 runs [`run_bounded`] lets go at once: one per core.
pub fn hashing_limit() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2)
}

/// Runs argon2 work on the blocking pool under the process-wide bound (callers queue for a
/// permit). The permit is held until the work ends, even when the caller stops waiting (a
/// request cancelled by its client), so the bound counts the runs, not the waiters. Err when
/// the task failed.
pub async fn run_bounded<R: Send + 'static>(work: impl FnOnce() -> R + Send + 'static) -> Result<R, String> {
    let permit = LIMIT.acquire().await.map_err(|e| e.to_string())?;
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        work()
    })
    .await
    .map_err(|e| format!("the hashing task failed: {e}"))
}

/// [`hash`] under the process-wide bound.
pub async fn hash_bounded(password: String) -> Result<String, String> {
    run_bounded(move || hash(&password)).await?
}

/// [`verify`] under the process-wide bound; false when the task failed.
pub async fn verify_bounded(password: String, phc: String) -> bool {
    run_bounded(move || verify(&password, &phc)).await.unwrap_or(false)
}

/// Takes every permit of the bound until the returned guard is dropped, so that no argon2
/// run can start meanwhile. For tests: it shows that a code path hashes under the bound.
pub async fn hold_every_permit() -> Option<SemaphorePermit<'static>> {
    LIMIT.acquire_many(u32::try_from(hashing_limit()).ok()?).await.ok()
}

/// A random initial password: 12 characters of unambiguous letters and digits, with at
/// least one of each.
pub fn generate() -> String {
    const LETTERS: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ";
    const DIGITS: &[u8] = b"23456789";
    let mut rng = rand::rng();
    loop {
        let pw: String = (0..12)
            .map(|_| {
                let pool = if rng.random_bool(0.3) { DIGITS } else { LETTERS };
                pool[rng.random_range(0..pool.len())] as char
            })
            .collect();
        if pw.chars().any(|c| c.is_ascii_digit()) && pw.chars().any(|c| c.is_ascii_alphabetic()) {
            return pw;
        }
    }
}

/// The rules of a new password, as shown on the change screen.
pub fn policy_lines(cfg: &AuthConfig, lang: Lang) -> Vec<String> {
    let mut lines = vec![match lang {
        Lang::Ja => format!("{}文字以上{}文字以内", cfg.password_min_length, PASSWORD_MAX),
        Lang::En => format!("{} to {} characters", cfg.password_min_length, PASSWORD_MAX),
    }];
    if cfg.password_require_letters_and_digits {
        lines.push(lang.pick("英字と数字をそれぞれ1文字以上含む", "at least one letter and one digit").into());
    }
    lines.push(lang.pick("ユーザーIDを含むものは不可", "not containing the user ID").into());
    lines.push(lang.pick("よく使われているパスワードは不可", "not a common password").into());
    lines.push(lang.pick("現在のパスワードと同じものは不可", "not the same as the current password").into());
    lines
}

/// The 10,000 most common passwords, most common first, lower case (the `passwords` list of
/// zxcvbn 4.4, MIT licence, itself from published password leaks).
const COMMON: &str = include_str!("common_passwords.txt");

/// Whether `pw` is one of the 10,000 most common passwords (ignoring case).
pub fn is_common(pw: &str) -> bool {
    static SET: std::sync::OnceLock<std::collections::HashSet<&'static str>> = std::sync::OnceLock::new();
    let set = SET.get_or_init(|| COMMON.lines().map(str::trim).filter(|l| !l.is_empty()).collect());
    set.contains(pw.to_lowercase().as_str())
}

/// Checks a new password against the policy.
pub fn check_policy(cfg: &AuthConfig, user_id: &str, current: Option<&str>, new: &str) -> Result<(), Invalid> {
    let field = "new_password";
    let len = new.chars().count();
    let fail = |code: FieldCode, ja: String, en: String| Err(Invalid::new(field, Rule::Custom { code, ja, en }));
    if len < cfg.password_min_length {
        return Err(Invalid::new(field, Rule::TooShort { min: cfg.password_min_length }));
    }
    if len > PASSWORD_MAX {
        return Err(Invalid::new(field, Rule::TooLong { max: PASSWORD_MAX }));
    }
    if new.chars().any(|c| c.is_control()) {
        return fail(
            FieldCode::InvalidCharacters,
            "制御文字は使用できません。".into(),
            "Control characters are not allowed.".into(),
        );
    }
    if cfg.password_require_letters_and_digits
        && !(new.chars().any(|c| c.is_alphabetic()) && new.chars().any(|c| c.is_ascii_digit()))
    {
        return fail(
            FieldCode::LettersAndDigits,
            "英字と数字をそれぞれ1文字以上含めてください。".into(),
            "Use at least one letter and one digit.".into(),
        );
    }
    if !user_id.is_empty() && new.to_lowercase().contains(&user_id.to_lowercase()) {
        return fail(
            FieldCode::ContainsUserId,
            "ユーザーIDを含むパスワードは使用できません。".into(),
            "The password must not contain the user ID.".into(),
        );
    }
    if is_common(new) {
        return fail(
            FieldCode::CommonPassword,
            "よく使われているパスワードのため使用できません。推測されにくいパスワードを入力してください。".into(),
            "This password is too common. Choose one that is harder to guess.".into(),
        );
    }
    if current == Some(new) {
        return fail(
            FieldCode::SameAsCurrent,
            "現在のパスワードと同じパスワードは使用できません。".into(),
            "The new password must differ from the current one.".into(),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn hash_and_verify() {
        let h = hash("Secret123").unwrap_or_default();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("Secret123", &h));
        assert!(!verify("secret123", &h));
        assert!(!verify("x", "not a hash"));
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
    }

    /// Hashes stored by earlier versions (the argon2 crate's own hasher, other parameters)
    /// still verify, and the crate's verifier accepts ours.
    #[test]
    fn compatible_with_the_argon2_crate() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        let small = Params::new(1024, 1, 1, None).unwrap_or_default();
        let theirs = Argon2::new(Algorithm::Argon2id, Version::V0x13, small)
            .hash_password(b"Secret123")
            .map(|h| h.to_string())
            .unwrap_or_default();
        assert!(verify("Secret123", &theirs) && !verify("Secret124", &theirs), "{theirs}");
        let ours = hash("Secret123").unwrap_or_default();
        let parsed = PasswordHash::new(&ours).ok();
        assert!(parsed.is_some_and(|p| Argon2::default().verify_password(b"Secret123", &p).is_ok()));
        // A truncated or altered hash never verifies.
        assert!(!verify("Secret123", &ours[..ours.len() - 2]));
        assert!(!verify("Secret123", &ours.replace("argon2id", "argon2x")));
    }

    /// Working memory is reused, never kept beyond one per permitted run.
    #[test]
    fn working_memory_is_kept_for_reuse_within_the_bound() {
        for _ in 0..hashing_limit() + 2 {
            let _ = hash("Secret123");
        }
        let kept = MEMORY.lock().map(|m| m.len()).unwrap_or(usize::MAX);
        assert!((1..=hashing_limit()).contains(&kept), "{kept}");
    }

    /// The tests below take permits of the process-wide bound: one at a time.
    static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

    /// Counts the argon2 runs going on at once, and the most seen.
    #[derive(Default)]
    struct Gauge {
        running: std::sync::atomic::AtomicUsize,
        peak: std::sync::atomic::AtomicUsize,
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn at_most_one_argon2_run_per_core_at_once_even_when_callers_give_up() {
        use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
        use std::time::Duration;
        let _serial = SERIAL.lock().await;
        let cores = hashing_limit();
        let n = 2 * cores + 3;
        let gauge = std::sync::Arc::new(Gauge::default());
        let started: std::sync::Arc<Vec<AtomicBool>> =
            std::sync::Arc::new((0..n).map(|_| AtomicBool::new(false)).collect());
        let mut tasks = Vec::new();
        for i in 0..n {
            let (g, started) = (gauge.clone(), started.clone());
            tasks.push(tokio::spawn(run_bounded(move || {
                started[i].store(true, SeqCst);
                let now = g.running.fetch_add(1, SeqCst) + 1;
                g.peak.fetch_max(now, SeqCst);
                let h = hash(&format!("Secret{i}"));
                // Long enough that the others queue meanwhile.
                std::thread::sleep(Duration::from_millis(100));
                g.running.fetch_sub(1, SeqCst);
                h
            })));
        }
        // Once every permit is in use, the callers of the running hashes give up (cancelled
        // requests): their runs go on, so their permits must stay taken.
        tokio::time::timeout(Duration::from_secs(20), async {
            while gauge.running.load(SeqCst) < cores {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        })
        .await
        .unwrap_or_else(|_| panic!("the hashes never took every permit"));
        let mut kept = 0;
        for (i, t) in tasks.iter().enumerate() {
            if started[i].load(SeqCst) {
                t.abort();
            } else {
                kept += 1;
            }
        }
        let mut finished = 0;
        for t in tasks {
            if let Ok(Ok(h)) = t.await {
                assert!(h.as_deref().is_ok_and(|h| h.starts_with("$argon2id$")));
                finished += 1;
            }
        }
        tokio::time::timeout(Duration::from_secs(20), async {
            while gauge.running.load(SeqCst) > 0 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await
        .unwrap_or_else(|_| panic!("argon2 runs never ended"));
        let peak = gauge.peak.load(SeqCst);
        assert!(kept > 0 && finished >= kept, "the callers that waited got their hash ({finished} of {kept})");
        assert_eq!(peak, cores, "{peak} argon2 runs at once on {cores} cores");
    }

    #[tokio::test]
    async fn bounded_hashing_waits_for_a_permit() {
        let _serial = SERIAL.lock().await;
        let held = hold_every_permit().await;
        assert!(held.is_some());
        let mut hashing = tokio::spawn(hash_bounded("Secret123".into()));
        let waited = tokio::time::timeout(std::time::Duration::from_millis(200), &mut hashing).await;
        assert!(waited.is_err(), "no argon2 run starts while every permit is taken");
        drop(held);
        let h = hashing.await.unwrap_or_else(|e| panic!("{e}")).unwrap_or_else(|e| panic!("{e}"));
        assert!(verify_bounded("Secret123".into(), h).await);
    }

    #[test]
    fn policy_rules() {
        let cfg = AuthConfig::default();
        assert!(check_policy(&cfg, "A1533601", Some("OldPass1"), "NewPass12").is_ok());
        let code = |r: Result<(), Invalid>| r.err().map(|i| i.rule.code().as_str()).unwrap_or("ok");
        assert_eq!(code(check_policy(&cfg, "u", None, "short1")), "too_short");
        assert_eq!(code(check_policy(&cfg, "u", None, "onlyletters")), "letters_and_digits");
        assert_eq!(code(check_policy(&cfg, "u", None, "12345678")), "letters_and_digits");
        assert_eq!(code(check_policy(&cfg, "a1533601x", None, "A1533601X")), "contains_user_id");
        assert_eq!(code(check_policy(&cfg, "A1533601", None, "my-a1533601-pw")), "contains_user_id");
        assert_eq!(code(check_policy(&cfg, "A1533601", None, "Password1")), "common_password");
        assert_eq!(code(check_policy(&cfg, "A1533601", None, "qwerty123")), "common_password");
        assert!(is_common("iloveyou") && is_common("123456") && !is_common("Korinto-Mura-7"));
        assert_eq!(code(check_policy(&cfg, "u", Some("Same1234"), "Same1234")), "same_as_current");
        assert_eq!(code(check_policy(&cfg, "u", None, &"a1".repeat(100))), "too_long");
    }

    proptest! {
        #[test]
        fn generated_passwords_satisfy_the_default_policy(_seed in 0u8..50) {
            let pw = generate();
            prop_assert!(check_policy(&AuthConfig::default(), "someone", None, &pw).is_ok());
        }

        #[test]
        fn policy_never_panics(pw in "\\PC{0,200}", uid in "[A-Za-z0-9]{0,12}") {
            let _ = check_policy(&AuthConfig::default(), &uid, None, &pw);
        }
    }
}
