//! Stored document versions (04 §11.2: "every render adds a version; the newest is current").
//!
//! Rendering is the SDK's (decision 44); the engine keeps what it is handed: a version record
//! (format, template, file name, size, SHA-256 of the bytes, render date) listed in the
//! document's `documents` field, and the bytes themselves, both written in one commit. Versions
//! are numbered 1, 2, … per document and never rewritten.

use super::records::{parse_ref, DocType};
use crate::engine::{decode, encode, key, Engine};
use crate::error::{Code, EngineError, Result};
use crate::store::Batch;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// One rendered version of a document (an entry of its `documents` field).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentVersion {
    /// 1-based; the highest is current.
    pub version: u32,
    /// `pdf`, `html` or `json`.
    pub format: String,
    /// The template it was rendered with.
    pub template: String,
    /// The file name (04 §7).
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// `sha256:` and the hex digest of the bytes.
    pub hash: String,
    /// The date it was rendered (the step's date).
    pub rendered_on: NaiveDate,
}

impl DocumentVersion {
    /// The version as a short cell: `v1 pdf default_invoice 1234 sha256:…` (first 12 hex digits).
    pub fn summary(&self) -> String {
        let short: String = self.hash.chars().take("sha256:".len() + 12).collect();
        format!(
            "v{} {} {} {} {short}",
            self.version, self.format, self.template, self.size
        )
    }
}

/// `sha256:<hex>` of `bytes`.
pub fn content_hash(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut out = String::with_capacity(7 + 64);
    out.push_str("sha256:");
    for b in digest {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

fn doc_part(t: DocType, account: &str, seq: u32) -> Vec<u8> {
    let mut k = key(&["docver", t.as_str(), account, ""]);
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

fn version_key(t: DocType, account: &str, seq: u32, version: u32) -> Vec<u8> {
    let mut k = doc_part(t, account, seq);
    k.push(0);
    k.extend_from_slice(&version.to_be_bytes());
    k
}

fn bytes_key(t: DocType, account: &str, seq: u32, version: u32) -> Vec<u8> {
    let mut k = key(&["docbytes", t.as_str(), account, ""]);
    k.extend_from_slice(&seq.to_be_bytes());
    k.push(0);
    k.extend_from_slice(&version.to_be_bytes());
    k
}

fn unknown(reference: &str) -> EngineError {
    match parse_ref(reference) {
        Some((DocType::CreditMemo, _, _)) => EngineError::refused(
            Code::UnknownCreditMemo,
            reference,
            "ref",
            "no such credit memo",
        ),
        _ => EngineError::refused(Code::UnknownInvoice, reference, "ref", "no such invoice"),
    }
}

impl Engine {
    /// Store a rendered version of the document `reference`: the next version number, its
    /// record and its bytes in one commit. `format` is `pdf`, `html` or `json`.
    ///
    /// # Errors
    /// `unknown_invoice` / `unknown_credit_memo`; `invalid_record` for another format.
    pub fn add_document_version(
        &self,
        reference: &str,
        format: &str,
        template: &str,
        name: &str,
        bytes: &[u8],
        on: NaiveDate,
    ) -> Result<DocumentVersion> {
        if !matches!(format, "pdf" | "html" | "json") {
            return Err(EngineError::refused(
                Code::InvalidRecord,
                reference,
                "format",
                format!("`{format}` is not pdf, html or json"),
            ));
        }
        let _guard = self
            .billing_lock
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let Some((t, account, seq)) = parse_ref(reference) else {
            return Err(unknown(reference));
        };
        if self.document(reference)?.is_none() {
            return Err(unknown(reference));
        }
        let version = self
            .document_versions(reference)?
            .last()
            .map_or(1, |v| v.version + 1);
        let record = DocumentVersion {
            version,
            format: format.to_string(),
            template: template.to_string(),
            name: name.to_string(),
            size: bytes.len() as u64,
            hash: content_hash(bytes),
            rendered_on: on,
        };
        let mut b = Batch::default();
        b.put(version_key(t, account, seq, version), encode(&record));
        b.put(bytes_key(t, account, seq, version), bytes.to_vec());
        self.store.commit(b)?;
        Ok(record)
    }

    /// The stored versions of a document, oldest first (empty when it was never rendered or does
    /// not exist).
    pub fn document_versions(&self, reference: &str) -> Result<Vec<DocumentVersion>> {
        let Some((t, account, seq)) = parse_ref(reference) else {
            return Ok(Vec::new());
        };
        let mut prefix = doc_part(t, account, seq);
        prefix.push(0);
        self.store
            .scan(&prefix)?
            .iter()
            .map(|(k, v)| decode(k, v))
            .collect()
    }

    /// The bytes of one stored version.
    pub fn document_bytes(&self, reference: &str, version: u32) -> Result<Option<Vec<u8>>> {
        let Some((t, account, seq)) = parse_ref(reference) else {
            return Ok(None);
        };
        Ok(self.store.get(&bytes_key(t, account, seq, version))?)
    }

    /// The current (newest) version of a document and its bytes.
    pub fn current_document(&self, reference: &str) -> Result<Option<(DocumentVersion, Vec<u8>)>> {
        let Some(v) = self.document_versions(reference)?.pop() else {
            return Ok(None);
        };
        let Some(bytes) = self.document_bytes(reference, v.version)? else {
            return Ok(None);
        };
        Ok(Some((v, bytes)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_sha256() {
        assert_eq!(
            content_hash(b"abc"),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn version_keys_sort_by_version_within_a_document() {
        let a = version_key(DocType::Invoice, "ACME", 1, 2);
        let b = version_key(DocType::Invoice, "ACME", 1, 10);
        assert!(a < b);
        let mut p = doc_part(DocType::Invoice, "ACME", 1);
        p.push(0);
        assert!(a.starts_with(&p));
        let mut other = doc_part(DocType::Invoice, "ACME", 256);
        other.push(0);
        assert!(!a.starts_with(&other));
    }
}
