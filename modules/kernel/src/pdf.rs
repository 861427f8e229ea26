//! A small PDF writer for Japanese documents (invoices, manuals).
