//! SSHSIG signatures that stock `ssh-keygen -Y verify` accepts, made from a running
//! SHA-512 so a checkpoint over a long log costs one signature, not a re-hash of it all.

use std::path::Path;

use signature::{Signer as _, Verifier as _};
use ssh_key::sha2::{Digest, Sha512};
use ssh_key::{Algorithm, HashAlg, LineEnding, PrivateKey, PublicKey, SshSig};

pub const CHECKPOINT_NAMESPACE: &str = "lifeboat-checkpoint";
pub const SEAL_NAMESPACE: &str = "lifeboat-incident-log";

#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error("cannot read the signing key `{path}`: {why}")]
    Read { path: String, why: String },
    #[error("the signing key `{0}` is not ed25519; make one with `ssh-keygen -t ed25519`")]
    NotEd25519(String),
    #[error(
        "the signing key `{0}` is passphrase-protected; set LIFEBOAT_SIGN_KEY_PASSPHRASE (or start the run from a plain terminal, where it is asked)"
    )]
    NeedsPassphrase(String),
    #[error("wrong passphrase for the signing key `{0}`")]
    BadPassphrase(String),
    #[error("signing failed: {0}")]
    Sign(String),
}

pub struct Signer {
    key: PrivateKey,
}

impl Signer {
    /// Loads an OpenSSH ed25519 key; `passphrase` is asked only when the key is encrypted.
    pub fn load(path: &Path, passphrase: impl FnOnce() -> Option<String>) -> Result<Signer, SignError> {
        let shown = path.display().to_string();
        let key = PrivateKey::read_openssh_file(path)
            .map_err(|e| SignError::Read { path: shown.clone(), why: e.to_string() })?;
        if key.algorithm() != Algorithm::Ed25519 {
            return Err(SignError::NotEd25519(shown));
        }
        let key = if key.is_encrypted() {
            let pass = passphrase().ok_or_else(|| SignError::NeedsPassphrase(shown.clone()))?;
            key.decrypt(pass.as_bytes()).map_err(|_| SignError::BadPassphrase(shown))?
        } else {
            key
        };
        Ok(Signer { key })
    }

    pub fn from_key(key: PrivateKey) -> Signer {
        Signer { key }
    }

    pub fn public_openssh(&self) -> String {
        self.key.public_key().to_openssh().unwrap_or_default()
    }

    /// An armored SSHSIG over the message whose SHA-512 is `digest`.
    pub fn sign_digest(&self, namespace: &str, digest: &[u8]) -> Result<String, SignError> {
        let data = signed_data(namespace, digest);
        let sig = self.key.try_sign(&data).map_err(|e| SignError::Sign(e.to_string()))?;
        let sshsig = SshSig::new(self.key.public_key().key_data().clone(), namespace, HashAlg::Sha512, sig)
            .map_err(|e| SignError::Sign(e.to_string()))?;
        sshsig.to_pem(LineEnding::LF).map_err(|e| SignError::Sign(e.to_string()))
    }
}

/// The blob SSHSIG signs (PROTOCOL.sshsig): magic, namespace, reserved, hash name, H(msg).
fn signed_data(namespace: &str, digest: &[u8]) -> Vec<u8> {
    let mut out = b"SSHSIG".to_vec();
    for field in [namespace.as_bytes(), b"", b"sha512", digest] {
        out.extend_from_slice(&(field.len() as u32).to_be_bytes());
        out.extend_from_slice(field);
    }
    out
}

/// Checks an armored SSHSIG against a digest, a namespace and the expected signer.
pub fn verify_digest(pem: &str, namespace: &str, digest: &[u8], signer: &PublicKey) -> Result<(), String> {
    let sig = SshSig::from_pem(pem).map_err(|e| format!("not an SSH signature ({e})"))?;
    if sig.namespace() != namespace {
        return Err(format!("signature is for namespace `{}`, not `{namespace}`", sig.namespace()));
    }
    if sig.public_key() != signer.key_data() {
        return Err("signed by a different key than the log's signer".into());
    }
    if sig.hash_alg() != HashAlg::Sha512 {
        return Err("signature uses an unexpected hash".into());
    }
    sig.public_key()
        .verify(&signed_data(namespace, digest), sig.signature())
        .map_err(|_| "signature does not match the bytes it covers".to_string())
}

pub fn sha512(bytes: &[u8]) -> Vec<u8> {
    Sha512::digest(bytes).to_vec()
}
