//! The text encoder: family headers, label sets and values, in the Prometheus text format
//! or OpenMetrics, written through the families' definitions.

use super::families::{EXPERIMENTAL, Family, Kind};

/// The exposition formats `/metrics` serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// `text/plain; version=0.0.4`.
    Prometheus,
    /// `application/openmetrics-text; version=1.0.0`.
    OpenMetrics,
}

/// How much text is buffered before it is handed to the writer.
pub(super) const CHUNK: usize = 256 * 1024;

/// The text encoder: family headers, label sets and values, in either format. The text is
/// handed to `out` in chunks of about [`CHUNK`] bytes (a small buffer that stays in cache
/// is faster than writing a body of 100 MB in place).
pub(super) struct Text<'w> {
    pub(super) buf: Vec<u8>,
    out: Out<'w>,
    pub(super) format: Format,
}

/// Where a render's text goes, a chunk at a time.
pub(super) enum Out<'w> {
    /// Copied into a writer: a body in one buffer, a gzip encoder.
    Write(&'w mut dyn std::io::Write),
    /// Handed on whole: each chunk is a piece of the body as it is, so the text is
    /// buffered once.
    Chunks(&'w mut dyn FnMut(Vec<u8>)),
}

impl<'w> Text<'w> {
    pub(super) fn new(out: Out<'w>, format: Format) -> Self {
        Text { buf: Vec::with_capacity(CHUNK + 4096), out, format }
    }
}

/// A sample value: integers print without a fraction, floats as Go's exposition does.
#[derive(Clone, Copy)]
pub(super) enum Value {
    Int(i64),
    Uint(u64),
    Float(f64),
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}
impl From<u32> for Value {
    fn from(v: u32) -> Self {
        Value::Uint(u64::from(v))
    }
}
impl From<u64> for Value {
    fn from(v: u64) -> Self {
        Value::Uint(v)
    }
}
impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Float(v)
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Int(i64::from(v))
    }
}

/// Whether `bytes` holds a `\`, `"` or newline, tested eight bytes at a time (label
/// values are short, and almost never need escaping).
fn needs_escape(bytes: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let has = |word: u64, byte: u8| {
        let x = word ^ (ONES * u64::from(byte));
        x.wrapping_sub(ONES) & !x & HIGH != 0
    };
    let mut words = bytes.chunks_exact(8);
    for chunk in &mut words {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let word = u64::from_le_bytes(word);
        if has(word, b'\\') | has(word, b'"') | has(word, b'\n') {
            return true;
        }
    }
    words.remainder().iter().any(|b| matches!(b, b'\\' | b'"' | b'\n'))
}

/// Appends `value` with `\`, `"` and newlines escaped, as both formats require in label values.
fn escape_into(buf: &mut Vec<u8>, value: &str) {
    let bytes = value.as_bytes();
    if !needs_escape(bytes) {
        buf.extend_from_slice(bytes);
        return;
    }
    for b in bytes {
        match b {
            b'\\' => buf.extend_from_slice(b"\\\\"),
            b'"' => buf.extend_from_slice(b"\\\""),
            b'\n' => buf.extend_from_slice(b"\\n"),
            _ => buf.push(*b),
        }
    }
}

/// The label set `k1="v1",k2="v2"` of a sample of `family`, escaped: the names are the
/// family's, in order, the values these.
pub(super) fn labels_of(family: &Family, values: &[&str]) -> Vec<u8> {
    debug_assert_eq!(family.labels.len(), values.len(), "{}", family.name);
    let mut buf = Vec::with_capacity(128);
    for (i, (name, value)) in family.labels.iter().zip(values).enumerate() {
        if i > 0 {
            buf.push(b',');
        }
        push_labels(&mut buf, &[(name, value)]);
    }
    buf
}

pub(super) fn push_labels(buf: &mut Vec<u8>, pairs: &[(&str, &str)]) {
    for (i, (name, value)) in pairs.iter().enumerate() {
        if i > 0 {
            buf.push(b',');
        }
        buf.extend_from_slice(name.as_bytes());
        buf.extend_from_slice(b"=\"");
        escape_into(buf, value);
        buf.push(b'"');
    }
}

fn push_value(buf: &mut Vec<u8>, value: Value) {
    match value {
        Value::Int(v) => buf.extend_from_slice(itoa::Buffer::new().format(v).as_bytes()),
        Value::Uint(v) => buf.extend_from_slice(itoa::Buffer::new().format(v).as_bytes()),
        Value::Float(v) if v.is_nan() => buf.extend_from_slice(b"NaN"),
        Value::Float(v) if v.is_infinite() => buf.extend_from_slice(if v > 0.0 { b"+Inf" } else { b"-Inf" }),
        Value::Float(v) => buf.extend_from_slice(dtoa::Buffer::new().format_finite(v).as_bytes()),
    }
}

/// Writing samples and families (the pre-rendered lines' layout is `exposition::lines`').
impl Text<'_> {
    /// One pre-rendered sample: `name{`, then the given pieces of the label set, value and newline.
    pub(super) fn line(&mut self, family: &Family, pieces: &[&[u8]]) -> std::io::Result<()> {
        let buf = &mut self.buf;
        buf.extend_from_slice(family.name.as_bytes());
        buf.push(b'{');
        for piece in pieces {
            buf.extend_from_slice(piece);
        }
        self.chunk_done()
    }

    /// Starts a family: its `# HELP` and `# TYPE` lines.
    pub(super) fn family(&mut self, family: &Family) {
        let shown = match self.format {
            Format::OpenMetrics if family.kind == Kind::Counter => family.base(),
            _ => family.name,
        };
        // An experimental family says so first, as kube-state-metrics marks its own.
        let experimental = EXPERIMENTAL.iter().any(|f| f.name == family.name);
        for (tag, text) in [("# HELP ", family.help), ("# TYPE ", family.kind.as_str())] {
            self.buf.extend_from_slice(tag.as_bytes());
            self.buf.extend_from_slice(shown.as_bytes());
            self.buf.push(b' ');
            if experimental && tag == "# HELP " {
                self.buf.extend_from_slice(b"[EXPERIMENTAL] ");
            }
            for b in text.as_bytes() {
                match b {
                    b'\\' => self.buf.extend_from_slice(b"\\\\"),
                    b'\n' => self.buf.extend_from_slice(b"\\n"),
                    b'"' if self.format == Format::OpenMetrics => self.buf.extend_from_slice(b"\\\""),
                    _ => self.buf.push(*b),
                }
            }
            self.buf.push(b'\n');
        }
    }

    /// One sample: `name{labels[,extra="value"]} value`; `labels` is already escaped, and
    /// the extra label is the family's last ([`Family::extra_label`]).
    pub(super) fn sample(
        &mut self,
        family: &Family,
        labels: &[u8],
        extra: Option<&str>,
        value: impl Into<Value>,
    ) -> std::io::Result<()> {
        let buf = &mut self.buf;
        buf.reserve(family.name.len() + labels.len() + 96);
        buf.extend_from_slice(family.name.as_bytes());
        if labels.is_empty() && extra.is_none() {
            // A family without labels: `name value`, as the client libraries write it.
            buf.push(b' ');
        } else {
            buf.push(b'{');
            buf.extend_from_slice(labels);
            if let Some(extra) = extra {
                if !labels.is_empty() {
                    buf.push(b',');
                }
                push_labels(buf, &[(family.extra_label(), extra)]);
            }
            buf.extend_from_slice(b"} ");
        }
        push_value(buf, value.into());
        buf.push(b'\n');
        self.chunk_done()
    }

    /// Hands a full chunk on.
    pub(super) fn chunk_done(&mut self) -> std::io::Result<()> {
        if self.buf.len() >= CHUNK {
            self.hand_on()?;
        }
        Ok(())
    }

    /// Hands the rest on.
    pub(super) fn flush(&mut self) -> std::io::Result<()> {
        self.hand_on()?;
        match &mut self.out {
            Out::Write(out) => out.flush(),
            Out::Chunks(_) => Ok(()),
        }
    }

    /// Hands what is buffered on, and starts the next chunk.
    fn hand_on(&mut self) -> std::io::Result<()> {
        match &mut self.out {
            Out::Write(out) => {
                out.write_all(&self.buf)?;
                self.buf.clear();
            }
            Out::Chunks(take) if !self.buf.is_empty() => {
                take(std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK + 4096)));
            }
            Out::Chunks(_) => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_is_needed_exactly_where_a_special_byte_is() {
        for len in 0..40 {
            for at in 0..len {
                for special in [b'\\', b'"', b'\n'] {
                    let mut bytes = vec![b'a'; len];
                    bytes[at] = special;
                    assert!(needs_escape(&bytes), "{len} {at} {special}");
                }
            }
            assert!(!needs_escape(&vec![b'z'; len]));
            assert!(!needs_escape("ü-é-\u{7f}-#".repeat(len).as_bytes()));
        }
    }

    #[test]
    fn label_values_are_escaped() {
        let mut buf = Vec::new();
        push_labels(&mut buf, &[("name", "a\\b\"c\nd ü"), ("kind", "plain")]);
        assert_eq!(String::from_utf8(buf).expect("UTF-8"), r#"name="a\\b\"c\nd ü",kind="plain""#);
    }
}
