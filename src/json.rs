//! Compact JSON for what every token request writes: strings and numbers for the access
//! token's claims, the token response and the log line, which are written member by member
//! (`token.rs`, `logging.rs`), and a `Serialize` writer for the rest (an ID token's claims, a
//! user's extra claims). Both write the text `serde_json` writes, with the same escapes and
//! numbers, but a string is checked for characters to escape in one pass the compiler
//! vectorizes instead of `serde_json`'s byte-by-byte table walk, which a 400-character token
//! made a tenth of what a token cost beyond its signature. What the writer does not take
//! (128-bit integers, `f32`, map keys other than strings and integers) is written by
//! `serde_json` itself.

use std::fmt;

use serde::Serialize;
use serde::ser::{self, Impossible};

/// `value` as JSON, appended to `out`: exactly what `serde_json::to_writer` appends.
pub fn write<T: Serialize + ?Sized>(
    out: &mut Vec<u8>,
    value: &T,
) -> std::result::Result<(), serde_json::Error> {
    let start = out.len();
    if value.serialize(&mut Writer { out }).is_ok() {
        return Ok(());
    }
    out.truncate(start);
    serde_json::to_writer(out, value)
}

/// Appends `text` as a JSON string, escaped as `serde_json` escapes it.
pub fn push_str(out: &mut Vec<u8>, text: &str) {
    out.push(b'"');
    escaped(text, |piece| out.extend_from_slice(piece.as_bytes()));
    out.push(b'"');
}

/// `text` escaped for the inside of a JSON string as `serde_json` escapes it (`"`, `\` and
/// control characters, the common ones by their short escapes), in pieces handed to `emit`.
pub fn escaped(text: &str, mut emit: impl FnMut(&str)) {
    let bytes = text.as_bytes();
    if plain(bytes) {
        emit(text);
        return;
    }
    let mut run = 0;
    for (i, &byte) in bytes.iter().enumerate() {
        let escape = match byte {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            0..=0x1f => CONTROL[usize::from(byte)],
            _ => continue,
        };
        emit(text.get(run..i).unwrap_or_default());
        emit(escape);
        run = i + 1;
    }
    emit(text.get(run..).unwrap_or_default());
}

/// Whether `bytes` hold nothing to escape: most text, and every key. Without a branch per
/// byte: sixteen bytes at a time in vector compares, the last sixteen again for the rest; a
/// short string (a key, a client id) in one or two words of eight.
fn plain(bytes: &[u8]) -> bool {
    if let Some(last) = bytes.last_chunk::<16>() {
        let (chunks, _) = bytes.as_chunks::<16>();
        return chunks.iter().all(plain_chunk) && plain_chunk(last);
    }
    if let (Some(first), Some(last)) = (bytes.first_chunk::<8>(), bytes.last_chunk::<8>()) {
        return plain_word(first) & plain_word(last);
    }
    // Under eight bytes, one word padded with spaces: from four bytes on their first and last
    // four (overlapping), else each of the one to three bytes.
    let mut word = [b' '; 8];
    if let (Some(first), Some(last)) = (bytes.first_chunk::<4>(), bytes.last_chunk::<4>()) {
        word[..4].copy_from_slice(first);
        word[4..].copy_from_slice(last);
    } else if let (Some(&first), Some(&last)) = (bytes.first(), bytes.last()) {
        word[0] = first;
        word[1] = bytes.get(bytes.len() / 2).copied().unwrap_or(first);
        word[2] = last;
    }
    plain_word(&word)
}

fn plain_byte(b: u8) -> bool {
    (b >= 0x20) & (b != b'"') & (b != b'\\')
}

/// Whether sixteen bytes hold nothing to escape: a few vector compares, no branch.
#[inline(always)]
fn plain_chunk(chunk: &[u8; 16]) -> bool {
    chunk.iter().fold(true, |plain, &b| plain & plain_byte(b))
}

/// Whether eight bytes hold nothing to escape, in one word: a byte under 0x20, and a byte
/// that is zero once XORed with `"` or `\`, set its high bit in `(x - n) & !x` (no byte over
/// 0x7F can: its own high bit is cleared by `!x`, and a borrow only leaves a byte whose
/// lower neighbour was already under `n`).
fn plain_word(bytes: &[u8; 8]) -> bool {
    const ONES: u64 = u64::from_ne_bytes([1; 8]);
    const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
    let word = u64::from_le_bytes(*bytes);
    let under = |x: u64, n: u8| x.wrapping_sub(ONES * u64::from(n)) & !x;
    let quote = word ^ (ONES * u64::from(b'"'));
    let backslash = word ^ (ONES * u64::from(b'\\'));
    (under(word, 0x20) | under(quote, 1) | under(backslash, 1)) & HIGH == 0
}

/// The decimal digits of `value` (ASCII), written at the end of `buf` two at a time.
pub fn decimal(value: u64, buf: &mut [u8; 20]) -> &[u8] {
    const PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819\
        2021222324252627282930313233343536373839\
        4041424344454647484950515253545556575859\
        6061626364656667686970717273747576777879\
        8081828384858687888990919293949596979899";
    let mut at = buf.len();
    let mut rest = value;
    while rest >= 100 {
        let pair = (rest % 100) as usize * 2;
        rest /= 100;
        at -= 2;
        buf[at..at + 2].copy_from_slice(&PAIRS[pair..pair + 2]);
    }
    if rest >= 10 {
        let pair = rest as usize * 2;
        at -= 2;
        buf[at..at + 2].copy_from_slice(&PAIRS[pair..pair + 2]);
    } else {
        at -= 1;
        buf[at] = b'0' + rest as u8;
    }
    &buf[at..]
}

/// The escapes of the control characters U+0000 to U+001F, as `serde_json` writes them.
const CONTROL: [&str; 32] = [
    "\\u0000", "\\u0001", "\\u0002", "\\u0003", "\\u0004", "\\u0005", "\\u0006", "\\u0007", "\\b",
    "\\t", "\\n", "\\u000b", "\\f", "\\r", "\\u000e", "\\u000f", "\\u0010", "\\u0011", "\\u0012",
    "\\u0013", "\\u0014", "\\u0015", "\\u0016", "\\u0017", "\\u0018", "\\u0019", "\\u001a",
    "\\u001b", "\\u001c", "\\u001d", "\\u001e", "\\u001f",
];

/// The integer methods of a serializer, each writing its value through `$write`.
macro_rules! integers {
    ($write:ident) => {
        integers!($write; serialize_i8: i8, serialize_i16: i16, serialize_i32: i32,
            serialize_i64: i64, serialize_u8: u8, serialize_u16: u16, serialize_u32: u32,
            serialize_u64: u64);
    };
    ($write:ident; $($method:ident: $int:ty),*) => {$(
        fn $method(self, v: $int) -> Result {
            self.$write(v)
        }
    )*};
}

/// A value this writer leaves to `serde_json`.
#[derive(Debug)]
pub struct Unsupported;

impl fmt::Display for Unsupported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("left to serde_json")
    }
}

impl std::error::Error for Unsupported {}

impl ser::Error for Unsupported {
    fn custom<T: fmt::Display>(_: T) -> Self {
        Unsupported
    }
}

struct Writer<'a> {
    out: &'a mut Vec<u8>,
}

impl<'a> Writer<'a> {
    /// Opens an array (`[`) or an object (`{`), inside `{"variant":` for an enum's variant.
    fn open<'w>(&'w mut self, variant: Option<&str>, open: u8) -> Compound<'w, 'a> {
        if let Some(variant) = variant {
            self.out.push(b'{');
            push_str(self.out, variant);
            self.out.push(b':');
        }
        self.out.push(open);
        let close = match (open, variant) {
            (b'[', None) => "]",
            (b'[', Some(_)) => "]}",
            (_, None) => "}",
            (_, Some(_)) => "}}",
        };
        Compound {
            writer: self,
            first: true,
            close,
        }
    }

    fn integer(&mut self, value: impl Into<i128>) -> Result {
        let value: i128 = value.into();
        if value < 0 {
            self.out.push(b'-');
        }
        let magnitude = u64::try_from(value.unsigned_abs()).map_err(|_| Unsupported)?;
        self.out.extend_from_slice(decimal(magnitude, &mut [0; 20]));
        Ok(())
    }

    fn number(&mut self, number: impl fmt::Display) -> Result {
        use std::io::Write;
        // Writing into a Vec cannot fail.
        let _ = write!(self.out, "{number}");
        Ok(())
    }
}

/// An object or array being written: whether a member was written yet.
struct Compound<'w, 'a> {
    writer: &'w mut Writer<'a>,
    first: bool,
    /// Closing text: `}` or `]`, and `}` again for the variants wrapped in an object.
    close: &'static str,
}

impl Compound<'_, '_> {
    fn comma(&mut self) {
        if !std::mem::take(&mut self.first) {
            self.writer.out.push(b',');
        }
    }

    fn key(&mut self, key: &str) {
        self.comma();
        push_str(self.writer.out, key);
        self.writer.out.push(b':');
    }
}

type Result<T = ()> = std::result::Result<T, Unsupported>;

impl<'w, 'a> ser::Serializer for &'w mut Writer<'a> {
    type Ok = ();
    type Error = Unsupported;
    type SerializeSeq = Compound<'w, 'a>;
    type SerializeTuple = Compound<'w, 'a>;
    type SerializeTupleStruct = Compound<'w, 'a>;
    type SerializeTupleVariant = Compound<'w, 'a>;
    type SerializeMap = Compound<'w, 'a>;
    type SerializeStruct = Compound<'w, 'a>;
    type SerializeStructVariant = Compound<'w, 'a>;

    fn serialize_bool(self, v: bool) -> Result {
        self.out
            .extend_from_slice(if v { b"true" } else { b"false" });
        Ok(())
    }

    integers!(integer);

    fn serialize_f32(self, _: f32) -> Result {
        Err(Unsupported)
    }

    fn serialize_f64(self, v: f64) -> Result {
        // serde_json's text of a finite float, and `null` for the others.
        match serde_json::Number::from_f64(v) {
            Some(number) => self.number(number),
            None => {
                self.out.extend_from_slice(b"null");
                Ok(())
            }
        }
    }

    fn serialize_char(self, v: char) -> Result {
        self.serialize_str(v.encode_utf8(&mut [0; 4]))
    }

    fn serialize_str(self, v: &str) -> Result {
        push_str(self.out, v);
        Ok(())
    }

    fn serialize_bytes(self, v: &[u8]) -> Result {
        use ser::SerializeSeq;
        let mut seq = self.serialize_seq(Some(v.len()))?;
        for byte in v {
            seq.serialize_element(byte)?;
        }
        seq.end()
    }

    fn serialize_none(self) -> Result {
        self.serialize_unit()
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result {
        value.serialize(self)
    }

    fn serialize_unit(self) -> Result {
        self.out.extend_from_slice(b"null");
        Ok(())
    }

    fn serialize_unit_struct(self, _: &'static str) -> Result {
        self.serialize_unit()
    }

    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Result {
        self.serialize_str(variant)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, value: &T) -> Result {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Result {
        self.out.push(b'{');
        push_str(self.out, variant);
        self.out.push(b':');
        value.serialize(&mut *self)?;
        self.out.push(b'}');
        Ok(())
    }

    fn serialize_seq(self, _: Option<usize>) -> Result<Compound<'w, 'a>> {
        Ok(self.open(None, b'['))
    }

    fn serialize_tuple(self, len: usize) -> Result<Compound<'w, 'a>> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_struct(self, _: &'static str, len: usize) -> Result<Compound<'w, 'a>> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Compound<'w, 'a>> {
        Ok(self.open(Some(variant), b'['))
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Compound<'w, 'a>> {
        Ok(self.open(None, b'{'))
    }

    fn serialize_struct(self, _: &'static str, len: usize) -> Result<Compound<'w, 'a>> {
        self.serialize_map(Some(len))
    }

    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Compound<'w, 'a>> {
        Ok(self.open(Some(variant), b'{'))
    }
}

impl Compound<'_, '_> {
    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result {
        self.comma();
        value.serialize(&mut *self.writer)
    }

    fn field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result {
        self.key(key);
        value.serialize(&mut *self.writer)
    }

    fn close(self) -> Result {
        self.writer.out.extend_from_slice(self.close.as_bytes());
        Ok(())
    }
}

/// The compound traits whose members are elements (arrays) or fields (objects).
macro_rules! compound {
    ($($trait:ident :: $method:ident ($($key:ident)?) => $write:ident;)*) => {$(
        impl ser::$trait for Compound<'_, '_> {
            type Ok = ();
            type Error = Unsupported;

            fn $method<T: Serialize + ?Sized>(
                &mut self,
                $($key: &'static str,)?
                value: &T,
            ) -> Result {
                self.$write($($key,)? value)
            }

            fn end(self) -> Result {
                self.close()
            }
        }
    )*};
}

compound! {
    SerializeSeq::serialize_element() => element;
    SerializeTuple::serialize_element() => element;
    SerializeTupleStruct::serialize_field() => element;
    SerializeTupleVariant::serialize_field() => element;
    SerializeStruct::serialize_field(key) => field;
    SerializeStructVariant::serialize_field(key) => field;
}

impl ser::SerializeMap for Compound<'_, '_> {
    type Ok = ();
    type Error = Unsupported;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result {
        self.comma();
        key.serialize(MapKey {
            out: &mut *self.writer.out,
        })?;
        self.writer.out.push(b':');
        Ok(())
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result {
        value.serialize(&mut *self.writer)
    }

    fn end(self) -> Result {
        self.close()
    }
}

/// A map key: a string, or an integer written as one (as `serde_json` writes keys).
struct MapKey<'a> {
    out: &'a mut Vec<u8>,
}

impl MapKey<'_> {
    fn quoted(self, number: impl fmt::Display) -> Result {
        use std::io::Write;
        let _ = write!(self.out, "\"{number}\"");
        Ok(())
    }
}

impl ser::Serializer for MapKey<'_> {
    type Ok = ();
    type Error = Unsupported;
    type SerializeSeq = Impossible<(), Unsupported>;
    type SerializeTuple = Impossible<(), Unsupported>;
    type SerializeTupleStruct = Impossible<(), Unsupported>;
    type SerializeTupleVariant = Impossible<(), Unsupported>;
    type SerializeMap = Impossible<(), Unsupported>;
    type SerializeStruct = Impossible<(), Unsupported>;
    type SerializeStructVariant = Impossible<(), Unsupported>;

    fn serialize_str(self, v: &str) -> Result {
        push_str(self.out, v);
        Ok(())
    }

    fn serialize_char(self, v: char) -> Result {
        self.serialize_str(v.encode_utf8(&mut [0; 4]))
    }

    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Result {
        self.serialize_str(variant)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, value: &T) -> Result {
        value.serialize(self)
    }

    integers!(quoted);

    fn serialize_bool(self, _: bool) -> Result {
        Err(Unsupported)
    }

    fn serialize_f32(self, _: f32) -> Result {
        Err(Unsupported)
    }

    fn serialize_f64(self, _: f64) -> Result {
        Err(Unsupported)
    }

    fn serialize_bytes(self, _: &[u8]) -> Result {
        Err(Unsupported)
    }

    fn serialize_none(self) -> Result {
        Err(Unsupported)
    }

    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result {
        Err(Unsupported)
    }

    fn serialize_unit(self) -> Result {
        Err(Unsupported)
    }

    fn serialize_unit_struct(self, _: &'static str) -> Result {
        Err(Unsupported)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result {
        Err(Unsupported)
    }

    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq> {
        Err(Unsupported)
    }

    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple> {
        Err(Unsupported)
    }

    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct> {
        Err(Unsupported)
    }

    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant> {
        Err(Unsupported)
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap> {
        Err(Unsupported)
    }

    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct> {
        Err(Unsupported)
    }

    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant> {
        Err(Unsupported)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde::Serialize;
    use serde_json::json;

    fn both<T: Serialize>(value: &T) -> (String, String) {
        let mut ours = b"prefix".to_vec();
        super::write(&mut ours, value).unwrap();
        let ours = String::from_utf8(ours).unwrap();
        let theirs = format!("prefix{}", serde_json::to_string(value).unwrap());
        (ours, theirs)
    }

    #[test]
    fn decimals_are_the_integers_digits() {
        for n in [0, 7, 10, 99, 100, 101, 1_796_367_268, u64::MAX] {
            assert_eq!(super::decimal(n, &mut [0; 20]), n.to_string().as_bytes());
        }
    }

    #[test]
    fn every_escape_is_serde_json_s() {
        let text: String = (0u8..0x80)
            .map(char::from)
            .chain("é\u{2028}😀".chars())
            .collect();
        let (ours, theirs) = both(&text);
        assert_eq!(ours, theirs);
    }

    #[test]
    fn a_character_to_escape_is_found_wherever_it_stands_in_a_string_of_any_length() {
        for len in 1..50 {
            for at in 0..len {
                for escape in ['"', '\\', '\n', '\u{1f}'] {
                    let text: String = (0..len)
                        .map(|i| if i == at { escape } else { 'a' })
                        .collect();
                    let (ours, theirs) = both(&text);
                    assert_eq!(ours, theirs, "{escape:?} at {at} of {len}");
                }
            }
        }
    }

    #[test]
    fn text_without_a_character_to_escape_is_found_plain_at_any_length() {
        let plain: Vec<char> = (0x20u8..0x80)
            .map(char::from)
            .filter(|c| !matches!(c, '"' | '\\'))
            .chain("é\u{2028}😀\u{80}\u{ff}".chars())
            .collect();
        for len in 0..60 {
            for start in 0..plain.len() {
                let text: String = plain.iter().cycle().skip(start).take(len).collect();
                assert!(super::plain(text.as_bytes()), "{text:?}");
            }
        }
    }

    #[test]
    fn values_of_every_kind_are_written_as_serde_json_writes_them() {
        #[derive(Serialize)]
        enum Kind {
            Unit,
            Newtype(u8),
            Tuple(u8, &'static str),
            Struct { a: bool },
        }
        #[derive(Serialize)]
        struct Claims {
            iss: &'static str,
            n: i64,
            u: u64,
            f: f64,
            nan: f64,
            none: Option<u8>,
            #[serde(skip_serializing_if = "Option::is_none")]
            skipped: Option<u8>,
            list: Vec<Kind>,
            bytes: &'static [u8],
            c: char,
            #[serde(flatten)]
            extra: serde_json::Map<String, serde_json::Value>,
        }
        let mut extra = serde_json::Map::new();
        extra.insert("roles".into(), json!(["admin", {"x\"y": [1.5, -2, null]}]));
        extra.insert("email_verified".into(), json!(true));
        let claims = Claims {
            iss: "https://auth.example/\u{7f}",
            n: i64::MIN,
            u: u64::MAX,
            f: 0.1 + 0.2,
            nan: f64::NAN,
            none: None,
            skipped: None,
            list: vec![
                Kind::Unit,
                Kind::Newtype(7),
                Kind::Tuple(1, "t"),
                Kind::Struct { a: false },
            ],
            bytes: b"\x00\xff",
            c: '"',
            extra,
        };
        let (ours, theirs) = both(&claims);
        assert_eq!(ours, theirs);
        let mut keyed = BTreeMap::new();
        keyed.insert(3_u32, "three");
        keyed.insert(10, "ten");
        let (ours, theirs) = both(&keyed);
        assert_eq!(ours, theirs);
    }

    #[test]
    fn what_it_does_not_take_serde_json_writes() {
        let mut keyed = BTreeMap::new();
        keyed.insert(true, 1.5_f32);
        let (ours, theirs) = both(&keyed);
        assert_eq!(ours, theirs);
        let (ours, theirs) = both(&(1_u128 << 100));
        assert_eq!(ours, theirs);
    }
}
