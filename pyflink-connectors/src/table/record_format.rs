//! The formats of Kafka records' values and keys: [`RecordCodec`] is a line format (`csv`,
//! `json`, `raw`: a record is the text of a row) or the binary `avro` format, read and written
//! a batch of records at a time.

use pyflink_table::batch::ChangeBatch;
use pyflink_table::connectors::TableContext;
use pyflink_table::datafusion::arrow::array::RecordBatch;
use pyflink_table::Result;

use super::avro_format::{AvroCodec, AVRO_OPTIONS};
use super::line_format::{LineCodec, ParseErrors};

/// Reads and writes some of a table's columns as the bytes of Kafka records.
#[derive(Debug, Clone)]
pub(crate) enum RecordCodec {
    Line(LineCodec),
    Avro(AvroCodec),
}

impl RecordCodec {
    /// The options of format `name`, or `None` for a format Kafka tables do not have.
    pub(crate) fn options_of(name: &str) -> Option<&'static [&'static str]> {
        match name {
            "avro" => Some(AVRO_OPTIONS),
            other => LineCodec::options_of(other),
        }
    }

    /// The codec of the columns `context` describes, in format `name`.
    pub(crate) fn new(context: &TableContext<'_>, name: &str) -> Result<Self> {
        match name {
            "avro" => AvroCodec::new(context).map(RecordCodec::Avro),
            other => LineCodec::new(context, other).map(RecordCodec::Line),
        }
    }

    /// The rows of `parts` (each record's value, or key; `None` read as empty), which parts
    /// became rows, and what could not be read when parse errors are ignored. A part that is
    /// not UTF-8 is unreadable text for the line formats.
    pub(crate) fn decode<'r>(
        &self,
        parts: impl ExactSizeIterator<Item = Option<&'r [u8]>>,
    ) -> pyflink_core::Result<(Option<RecordBatch>, Vec<bool>, ParseErrors)> {
        let codec = match self {
            RecordCodec::Avro(codec) => {
                let count = parts.len();
                let rows = codec.decode(parts.map(Option::unwrap_or_default))?;
                return Ok((rows, vec![true; count], ParseErrors::default()));
            }
            RecordCodec::Line(codec) => codec,
        };
        let lines =
            parts.map(|part| codec.text_of(part.unwrap_or_default())).collect::<pyflink_core::Result<Vec<_>>>()?;
        let readable: Vec<usize> = (0..lines.len()).filter(|&i| lines[i].is_some()).collect();
        let mut kept = vec![false; lines.len()];
        let not_text = (lines.len() - readable.len()) as u64;
        let texts: Vec<String> = lines.into_iter().flatten().collect();
        let mut kept_texts = vec![false; texts.len()];
        let (rows, mut errors) = codec.decode_lines(&texts, Some(&mut kept_texts))?;
        errors.skipped_lines += not_text;
        for (text, &line) in readable.iter().enumerate() {
            kept[line] = kept_texts[text];
        }
        Ok((rows, kept, errors))
    }

    /// The rows of `batch` as the bytes of one record each.
    pub(crate) fn encode(&self, batch: &ChangeBatch) -> pyflink_core::Result<Vec<Vec<u8>>> {
        match self {
            RecordCodec::Line(codec) => codec.encode_records(batch),
            RecordCodec::Avro(codec) => codec.encode(batch),
        }
    }
}
