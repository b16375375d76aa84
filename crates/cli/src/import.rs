//! Splits a profile import file into request-sized chunks and maps the server's per-chunk line
//! numbers back to lines of the whole file.
//!
//! Chunks end on record boundaries: a CSV record may span lines inside quotes, so a record
//! ends at a newline only once its quotes balance (RFC 4180: `""` inside quotes is an escaped
//! quote and keeps the balance). Every CSV chunk starts with the file's header row again.

use std::io::{self, BufRead};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ImportFormat {
    /// Header row with an `id` column; other columns become attributes.
    Csv,
    /// One `{"id": …, "attributes": {…}}` object a line.
    Ndjson,
}

impl ImportFormat {
    pub fn content_type(self) -> &'static str {
        match self {
            ImportFormat::Csv => "text/csv",
            ImportFormat::Ndjson => "application/x-ndjson",
        }
    }

    /// From a file name: `.csv` → CSV; `.ndjson`, `.jsonl`, `.json` → NDJSON.
    pub fn from_path(path: &std::path::Path) -> Option<Self> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "csv" => Some(ImportFormat::Csv),
            "ndjson" | "jsonl" | "json" => Some(ImportFormat::Ndjson),
            _ => None,
        }
    }
}

/// One request's worth of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    /// The request body: for CSV the header row, then the records.
    pub body: Vec<u8>,
    /// Lines of the body before the first record (the CSV header; 0 for NDJSON).
    pub header_lines: u64,
    /// Line of the whole file (1-based) where the chunk's first record starts.
    pub first_line: u64,
    /// Records (CSV rows or NDJSON lines) in the chunk.
    pub records: u64,
    /// Bytes of the file this chunk consumed (the header is counted once, in the first chunk).
    pub file_bytes: u64,
}

impl Chunk {
    /// The line of the whole file for a line number the server reported for this chunk's body
    /// (1-based, counting the header that was re-sent with the chunk).
    pub fn file_line(&self, body_line: u64) -> u64 {
        if body_line <= self.header_lines {
            body_line
        } else {
            self.first_line + (body_line - self.header_lines - 1)
        }
    }
}

pub struct Chunker<R> {
    reader: R,
    format: ImportFormat,
    header: Vec<u8>,
    header_lines: u64,
    /// Bytes of the header not yet counted in a chunk's `file_bytes`.
    uncounted: u64,
    next_line: u64,
    max_records: u64,
    max_bytes: usize,
    done: bool,
}

impl<R: BufRead> Chunker<R> {
    /// Reads the CSV header (if any) and prepares chunks of at most `max_records` records and,
    /// unless a single record is larger, `max_bytes` bytes.
    pub fn new(
        mut reader: R,
        format: ImportFormat,
        max_records: u64,
        max_bytes: usize,
    ) -> io::Result<Self> {
        let mut header = Vec::new();
        let mut header_lines = 0;
        if format == ImportFormat::Csv {
            header_lines = read_record(&mut reader, &mut header, true)?;
            if !header.is_empty() && !header.ends_with(b"\n") {
                header.push(b'\n');
            }
        }
        Ok(Self {
            reader,
            format,
            uncounted: header.len() as u64,
            header,
            header_lines,
            next_line: header_lines + 1,
            max_records: max_records.max(1),
            max_bytes,
            done: false,
        })
    }

    /// The CSV header row as read (empty for NDJSON or an empty file).
    pub fn header(&self) -> &[u8] {
        &self.header
    }

    pub fn next_chunk(&mut self) -> io::Result<Option<Chunk>> {
        if self.done {
            return Ok(None);
        }
        let mut body = self.header.clone();
        let mut chunk = Chunk {
            body: Vec::new(),
            header_lines: self.header_lines,
            first_line: self.next_line,
            records: 0,
            file_bytes: std::mem::take(&mut self.uncounted),
        };
        let mut record = Vec::new();
        while chunk.records < self.max_records
            && (chunk.records == 0 || body.len() < self.max_bytes)
        {
            record.clear();
            let lines = read_record(
                &mut self.reader,
                &mut record,
                self.format == ImportFormat::Csv,
            )?;
            if lines == 0 {
                self.done = true;
                break;
            }
            chunk.file_bytes += record.len() as u64;
            self.next_line += lines;
            chunk.records += 1;
            body.extend_from_slice(&record);
            if !record.ends_with(b"\n") {
                body.push(b'\n');
            }
        }
        if chunk.records == 0 {
            return Ok(None);
        }
        chunk.body = body;
        Ok(Some(chunk))
    }
}

/// Appends one record to `buf` and returns how many physical lines it took (0 at the end).
fn read_record(reader: &mut impl BufRead, buf: &mut Vec<u8>, csv: bool) -> io::Result<u64> {
    let mut lines = 0;
    let mut quotes = 0usize;
    loop {
        let start = buf.len();
        if reader.read_until(b'\n', buf)? == 0 {
            return Ok(lines);
        }
        lines += 1;
        if !csv {
            return Ok(lines);
        }
        quotes += buf[start..].iter().filter(|&&b| b == b'"').count();
        if quotes.is_multiple_of(2) {
            return Ok(lines);
        }
    }
}

/// The CSV header's column names (a UTF-8 BOM on the first is dropped).
pub fn csv_columns(header: &[u8]) -> Vec<String> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(header);
    match reader.records().next() {
        Some(Ok(record)) => record
            .iter()
            .map(|c| c.trim_start_matches('\u{feff}').trim().to_string())
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunks(text: &str, format: ImportFormat, max: u64) -> Vec<Chunk> {
        let mut c = Chunker::new(text.as_bytes(), format, max, usize::MAX).unwrap();
        std::iter::from_fn(|| c.next_chunk().unwrap()).collect()
    }

    #[test]
    fn csv_header_is_resent_with_every_chunk() {
        let text = "id,plan\np1,a\np2,b\np3,c\np4,d\np5,e\n";
        let cs = chunks(text, ImportFormat::Csv, 2);
        assert_eq!(cs.len(), 3);
        assert_eq!(cs[0].body, b"id,plan\np1,a\np2,b\n");
        assert_eq!(cs[1].body, b"id,plan\np3,c\np4,d\n");
        assert_eq!(cs[2].body, b"id,plan\np5,e\n");
        assert_eq!(
            cs.iter().map(|c| c.first_line).collect::<Vec<_>>(),
            [2, 4, 6]
        );
        let consumed: u64 = cs.iter().map(|c| c.file_bytes).sum();
        assert_eq!(
            consumed,
            text.len() as u64,
            "progress adds up to the file size"
        );
    }

    #[test]
    fn server_lines_map_to_file_lines() {
        let text = "id,plan\np1,a\np2,b\np3,c\np4,d\np5,e\n";
        let cs = chunks(text, ImportFormat::Csv, 2);
        // The server counts the re-sent header as line 1 of every body.
        assert_eq!(
            cs[1].file_line(2),
            4,
            "first record of chunk 2 is p3 on line 4"
        );
        assert_eq!(cs[2].file_line(2), 6);
        assert_eq!(cs[1].file_line(1), 1, "a header error is about line 1");
        let nd = chunks(
            "{\"id\":1}\n{\"id\":2}\n{\"id\":3}\n",
            ImportFormat::Ndjson,
            2,
        );
        assert_eq!(nd[1].header_lines, 0);
        assert_eq!(nd[1].file_line(1), 3);
    }

    #[test]
    fn quoted_newlines_stay_in_one_record() {
        let text = "id,note\np1,\"two\nlines\"\np2,\"say \"\"hi\"\"\"\np3,x";
        let cs = chunks(text, ImportFormat::Csv, 1);
        assert_eq!(cs.len(), 3);
        assert_eq!(cs[0].body, b"id,note\np1,\"two\nlines\"\n");
        assert_eq!(cs[1].first_line, 4, "p1 took lines 2 and 3");
        assert_eq!(
            cs[2].body, b"id,note\np3,x\n",
            "a missing final newline is added"
        );
    }

    #[test]
    fn fifty_thousand_lines_a_chunk() {
        let mut text = String::from("id,n\n");
        for i in 0..120_001 {
            text.push_str(&format!("p{i},{i}\n"));
        }
        let cs = chunks(&text, ImportFormat::Csv, 50_000);
        assert_eq!(
            cs.iter().map(|c| c.records).collect::<Vec<_>>(),
            [50_000, 50_000, 20_001]
        );
        assert_eq!(cs[2].first_line, 100_002);
        assert_eq!(cs[2].file_line(2 + 9), 100_011);
    }

    #[test]
    fn byte_cap_splits_early_but_never_empty() {
        let text = "{\"id\":\"a\"}\n{\"id\":\"b\"}\n{\"id\":\"c\"}\n";
        let mut c = Chunker::new(text.as_bytes(), ImportFormat::Ndjson, 100, 5).unwrap();
        let all: Vec<_> = std::iter::from_fn(|| c.next_chunk().unwrap()).collect();
        assert_eq!(all.len(), 3);
    }

    #[test]
    fn header_only_or_empty_file_has_no_chunks() {
        assert!(chunks("id,plan\n", ImportFormat::Csv, 10).is_empty());
        assert!(chunks("", ImportFormat::Ndjson, 10).is_empty());
    }

    #[test]
    fn columns_and_formats() {
        assert_eq!(
            csv_columns(b"\xef\xbb\xbfid,\"e,mail\"\n"),
            ["id", "e,mail"]
        );
        use std::path::Path;
        assert_eq!(
            ImportFormat::from_path(Path::new("a.CSV")),
            Some(ImportFormat::Csv)
        );
        assert_eq!(
            ImportFormat::from_path(Path::new("a.jsonl")),
            Some(ImportFormat::Ndjson)
        );
        assert_eq!(ImportFormat::from_path(Path::new("a.txt")), None);
    }
}
