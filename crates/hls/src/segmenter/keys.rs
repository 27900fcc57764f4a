//! AES-128 segment encryption (`--encrypt`, RFC 8216 §5.2): every segment
//! and every part is encrypted whole with AES-128-CBC and PKCS#7 padding,
//! with the key in effect for its media sequence number and the IV that
//! number gives (128-bit big-endian, written explicitly in `EXT-X-KEY`).
//! A part is encrypted on its own with its segment's key and IV, so a
//! player decrypts it alone; the parts' plaintexts still add up to the
//! segment's.
//!
//! Keys come from the operating system's secure random source, a new one
//! every `rotation` segments (segment `n` uses key `n / rotation`), each
//! written atomically (never half a key) as `key<index>.key` into the key
//! directory before any playlist names it. When the segmenter resumes a
//! playlist, a key file already there for the index is used again (the
//! segments listed before the restart stay readable); a fresh start makes
//! every key anew (never a key and IV of another run's content). A key's
//! file is deleted when the last listed segment naming it leaves the window
//! (after the grace period), unless the archive keeps everything; keys of
//! an earlier run are left.

use std::path::{Path, PathBuf};

use aes::cipher::block_padding::Pkcs7;
use aes::cipher::{BlockModeEncrypt, KeyIvInit};

use crate::playlist::SegmentKey;
use crate::store::{self, StoreError};

/// How to encrypt (`routecast segment --encrypt`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncryptionConfig {
    /// Where key files go (`None`: the output directory).
    pub key_dir: Option<PathBuf>,
    /// The key URI written in `EXT-X-KEY`: `{key}` is replaced by the key
    /// file's name (`key3.key`); the default `{key}` is relative to the
    /// playlist.
    pub key_uri: String,
    /// A new key every this many segments (at least 1).
    pub rotation: u64,
    /// Set by the channel for one of several renditions (`NAME/`): its
    /// keys go into that directory under the key directory, and `{key}`
    /// names them with it.
    pub key_prefix: String,
}

impl Default for EncryptionConfig {
    fn default() -> Self {
        Self {
            key_dir: None,
            key_uri: "{key}".to_string(),
            rotation: 10,
            key_prefix: String::new(),
        }
    }
}

/// The key in use.
#[derive(Debug, Clone)]
struct Current {
    index: u64,
    key: [u8; 16],
    name: String,
}

/// The keys of a segmenter.
#[derive(Debug)]
pub(super) struct Keys {
    config: EncryptionConfig,
    dir: PathBuf,
    current: Option<Current>,
    /// The key before `current`.
    previous: Option<Current>,
    /// Key files found on disk may be used (a resumed playlist names them).
    reuse: bool,
    /// The files of the keys this run used, by the URI playlists name.
    files: std::collections::HashMap<String, PathBuf>,
}

impl Keys {
    /// Keys for `config`, their files in `config.key_dir` or `out`.
    pub(super) fn new(config: EncryptionConfig, out: &Path, resumed: bool) -> Self {
        // Without a key directory the keys sit beside the segments (in a
        // rendition's own directory already); with one, in the rendition's
        // directory under it.
        let dir = match &config.key_dir {
            Some(k) => k.join(config.key_prefix.trim_end_matches('/')),
            None => out.to_path_buf(),
        };
        Self {
            config,
            dir,
            current: None,
            previous: None,
            reuse: resumed,
            files: std::collections::HashMap::new(),
        }
    }

    /// The file of the key playlists name `uri`, if this run used it.
    pub(super) fn file_of(&self, uri: &str) -> Option<&Path> {
        self.files.get(uri).map(PathBuf::as_path)
    }

    /// How playlists name the key of segment `sequence` (its file written
    /// first if it is a new key).
    pub(super) fn tag_for(&mut self, sequence: u64) -> Result<SegmentKey, StoreError> {
        let current = self.key_for(sequence)?;
        Ok(self.tag(&current, sequence))
    }

    /// The key of segment `sequence`, made (or found) when new. The key
    /// before the current one is kept too: the hinted next part may name
    /// the next key before the last segment of the current one is done
    /// (a key made twice would replace a file its segments need).
    fn key_for(&mut self, sequence: u64) -> Result<Current, StoreError> {
        let index = sequence / self.config.rotation.max(1);
        match (&self.current, &self.previous) {
            (Some(c), _) | (_, Some(c)) if c.index == index => Ok(c.clone()),
            _ => {
                let c = self.load_or_make(index)?;
                let uri = self
                    .config
                    .key_uri
                    .replace("{key}", &self.uri_name(&c.name));
                self.files.insert(uri, self.dir.join(&c.name));
                self.previous = self.current.replace(c.clone());
                Ok(c)
            }
        }
    }

    fn tag(&self, current: &Current, sequence: u64) -> SegmentKey {
        SegmentKey {
            uri: self
                .config
                .key_uri
                .replace("{key}", &self.uri_name(&current.name)),
            iv: u128::from(sequence),
        }
    }

    /// Encrypts the bytes of segment `sequence` (or of one of its parts)
    /// and says how its playlist names the key; the key file is written
    /// first when the sequence starts a new key.
    pub(super) fn encrypt(
        &mut self,
        sequence: u64,
        bytes: Vec<u8>,
    ) -> Result<(Vec<u8>, SegmentKey), StoreError> {
        let current = self.key_for(sequence)?;
        let tag = self.tag(&current, sequence);
        Ok((encrypt(&current.key, tag.iv, bytes), tag))
    }

    /// Encrypts other bytes under segment `sequence`'s key with IV `iv`
    /// (an I-frame's own file: an IV no segment uses), and says how its
    /// playlist names the key.
    pub(super) fn encrypt_with_iv(
        &mut self,
        sequence: u64,
        iv: u128,
        bytes: Vec<u8>,
    ) -> Result<(Vec<u8>, SegmentKey), StoreError> {
        let current = self.key_for(sequence)?;
        let tag = SegmentKey {
            iv,
            ..self.tag(&current, sequence)
        };
        Ok((encrypt(&current.key, iv, bytes), tag))
    }

    /// How `{key}` names a key file: with the rendition's directory when
    /// keys have a directory of their own (its URIs are relative to it).
    fn uri_name(&self, name: &str) -> String {
        match &self.config.key_dir {
            Some(_) => format!("{}{name}", self.config.key_prefix),
            None => name.to_string(),
        }
    }

    /// Key `index`: when resuming, the file's if one is there, else a
    /// new random key written atomically (and synced: a key lost after a
    /// crash would leave its segments unreadable).
    fn load_or_make(&self, index: u64) -> Result<Current, StoreError> {
        let name = name(index);
        let path = self.dir.join(&name);
        if self.reuse {
            if let Ok(bytes) = std::fs::read(&path) {
                if let Ok(key) = <[u8; 16]>::try_from(bytes.as_slice()) {
                    return Ok(Current { index, key, name });
                }
            }
        }
        let mut key = [0u8; 16];
        getrandom::fill(&mut key).map_err(|e| StoreError::Io {
            operation: store::Operation::Write,
            path: path.clone(),
            error: std::io::Error::other(format!("no random key: {e}")),
        })?;
        std::fs::create_dir_all(&self.dir).map_err(|error| StoreError::Io {
            operation: store::Operation::Write,
            path: self.dir.clone(),
            error,
        })?;
        store::write_atomic_with(&self.dir, &name, &key, store::Durability::Synced)?;
        Ok(Current { index, key, name })
    }
}

/// The file name of key `index`.
fn name(index: u64) -> String {
    format!("key{index}.key")
}

/// `plain` encrypted with AES-128-CBC under `key` and `iv`, PKCS#7 padded
/// (in place: the buffer grows by the padding only).
pub fn encrypt(key: &[u8; 16], iv: u128, mut plain: Vec<u8>) -> Vec<u8> {
    let len = plain.len();
    plain.resize(len + 16 - len % 16, 0);
    let cipher = cbc::Encryptor::<aes::Aes128>::new(key.into(), &iv.to_be_bytes().into());
    match cipher.encrypt_padded::<Pkcs7>(&mut plain, len) {
        Ok(ct) => {
            let n = ct.len();
            plain.truncate(n);
            plain
        }
        // The buffer is sized for the padding: not reached; encrypted
        // into a new buffer all the same rather than lose the segment.
        Err(_) => {
            let cipher = cbc::Encryptor::<aes::Aes128>::new(key.into(), &iv.to_be_bytes().into());
            cipher.encrypt_padded_vec::<Pkcs7>(&plain[..len])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// NIST SP 800-38A F.2.1 (CBC-AES128.Encrypt), first block, and the
    /// PKCS#7 block a 16-byte message gains.
    #[test]
    fn cbc_encrypts_as_nist_says() {
        let key = [
            0x2b, 0x7e, 0x15, 0x16, 0x28, 0xae, 0xd2, 0xa6, 0xab, 0xf7, 0x15, 0x88, 0x09, 0xcf,
            0x4f, 0x3c,
        ];
        let iv = 0x000102030405060708090a0b0c0d0e0f;
        let plain = vec![
            0x6b, 0xc1, 0xbe, 0xe2, 0x2e, 0x40, 0x9f, 0x96, 0xe9, 0x3d, 0x7e, 0x11, 0x73, 0x93,
            0x17, 0x2a,
        ];
        let ct = encrypt(&key, iv, plain);
        assert_eq!(ct.len(), 32);
        assert_eq!(
            ct[..16],
            [
                0x76, 0x49, 0xab, 0xac, 0x81, 0x19, 0xb2, 0x46, 0xce, 0xe9, 0x8e, 0x9b, 0x12, 0xe9,
                0x19, 0x7d
            ]
        );
        assert_eq!(encrypt(&key, iv, Vec::new()).len(), 16);
        assert_eq!(encrypt(&key, iv, vec![0; 188]).len(), 192);
    }

    #[test]
    fn keys_rotate_are_written_whole_and_are_found_again_after_a_restart() {
        let dir = tempfile::tempdir().expect("tmp");
        let config = EncryptionConfig {
            key_dir: Some(dir.path().join("keys")),
            key_uri: "https://keys.example/live/{key}".into(),
            rotation: 3,
            key_prefix: String::new(),
        };
        let mut keys = Keys::new(config.clone(), dir.path(), false);
        let (a, ka) = keys.encrypt(0, vec![1; 10]).expect("key 0");
        let (b, kb) = keys.encrypt(2, vec![1; 10]).expect("key 0");
        let (_, kc) = keys.encrypt(3, vec![1; 10]).expect("key 1");
        assert_eq!(ka.uri, "https://keys.example/live/key0.key");
        assert_eq!((kb.uri.as_str(), kb.iv), (ka.uri.as_str(), 2));
        assert_eq!(kc.uri, "https://keys.example/live/key1.key");
        assert_ne!(a, b, "another IV, another ciphertext");
        let files: Vec<u64> = ["key0.key", "key1.key"]
            .iter()
            .map(|n| {
                std::fs::metadata(dir.path().join("keys").join(n))
                    .expect("written")
                    .len()
            })
            .collect();
        assert_eq!(files, [16, 16]);
        let file = keys.file_of(&kc.uri).expect("this run's key");
        assert_eq!(file, dir.path().join("keys/key1.key"));
        // A resumed run within key 1 uses the same key; a fresh start a
        // new one.
        let (x, _) = keys.encrypt(4, vec![7; 40]).expect("key 1");
        let mut resumed = Keys::new(config.clone(), dir.path(), true);
        let (y, _) = resumed.encrypt(4, vec![7; 40]).expect("key 1 again");
        assert_eq!(x, y);
        let mut fresh = Keys::new(config, dir.path(), false);
        let (z, _) = fresh.encrypt(4, vec![7; 40]).expect("a new key 1");
        assert_ne!(x, z);
    }
}
