//! Vectorized Python scalar functions (`@udf(func_type="pandas")`): a
//! `PythonVectorizedFunction` is a DataFusion scalar function called once per batch, whose
//! argument columns reach Python as one Arrow IPC stream (read by pyarrow into `pandas.Series`,
//! column by column, without going through Python objects row by row) and whose result comes
//! back the same way, cast to the function's result type. In process mode the stream goes to
//! the instance's worker, which answers the result's stream.

use std::io::Cursor;
use std::sync::Arc;

use pyflink_table::datafusion::arrow::array::{ArrayRef, RecordBatch, RecordBatchOptions};
use pyflink_table::datafusion::arrow::compute::cast;
use pyflink_table::datafusion::arrow::datatypes::{DataType as ArrowType, Field, Schema};
use pyflink_table::datafusion::arrow::ipc::reader::StreamReader;
use pyflink_table::datafusion::arrow::ipc::writer::StreamWriter;
use pyflink_table::datafusion::common::{exec_err, DataFusionError};
use pyflink_table::datafusion::logical_expr::{Signature, Volatility};
use pyflink_table::types::DataType;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::function::python_error;
use crate::table::instance::{CallShape, PickledCallable, PythonInstance, PythonSettings};
use crate::table::sql::TableEnv;
use crate::table::udf::{PythonColumns, PythonUdf};
use crate::JobError;

/// A Python function called on whole batches of rows.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct PythonVectorizedFunction {
    callable: PickledCallable,
    result: ArrowType,
    signature: Signature,
}

impl PythonVectorizedFunction {
    fn new(name: String, pickled: Vec<u8>, result: &DataType, deterministic: bool, settings: PythonSettings) -> Self {
        let volatility = if deterministic { Volatility::Immutable } else { Volatility::Volatile };
        PythonVectorizedFunction {
            callable: PickledCallable::new(name, pickled, settings),
            result: result.to_arrow(),
            signature: Signature::user_defined(volatility),
        }
    }

    /// The function's result column for the `count` rows of `arrays`.
    fn call_batch(&self, arrays: &[ArrayRef], count: usize) -> Result<ArrayRef, DataFusionError> {
        let fields: Vec<Field> =
            arrays.iter().enumerate().map(|(i, a)| Field::new(format!("a{i}"), a.data_type().clone(), true)).collect();
        let options = RecordBatchOptions::new().with_row_count(Some(count));
        let batch = RecordBatch::try_new_with_options(Arc::new(Schema::new(fields)), arrays.to_vec(), &options)?;
        let arguments = ipc_bytes(&batch)?;
        let returned = Python::attach(|py| {
            let failed = |error: PyErr| self.callable.failed(python_error(py, error));
            self.callable.with_instance(py, CallShape::ArrowIpc, |instance| {
                let message = (PyBytes::new(py, &arguments), count);
                let result = match instance {
                    PythonInstance::InProcess { target, .. } => target.bind(py).call1(message).map_err(failed)?,
                    PythonInstance::InWorker(worker) => {
                        let message = message.into_pyobject(py).map_err(failed)?.into_any();
                        PythonInstance::in_worker(worker, py, message).map_err(|e| self.callable.failed(e))?
                    }
                };
                Ok(result.cast::<PyBytes>().map_err(|e| failed(e.into()))?.as_bytes().to_vec())
            })
        })?;
        let mut batches = StreamReader::try_new(Cursor::new(returned), None)?;
        let Some(batch) = batches.next().transpose()? else {
            return exec_err!("the pandas function '{}' gave no result", self.callable.name);
        };
        if batch.num_rows() != count || batch.num_columns() != 1 {
            return exec_err!(
                "the pandas function '{}' gave {} values for {count} rows; it must give one per row",
                self.callable.name,
                batch.num_rows()
            );
        }
        cast(batch.column(0), &self.result).map_err(|e| {
            DataFusionError::Execution(format!(
                "the pandas function '{}' gave values of type {}, which are not {}: {e}",
                self.callable.name,
                batch.column(0).data_type(),
                self.result
            ))
        })
    }
}

/// `batch` as an Arrow IPC stream.
fn ipc_bytes(batch: &RecordBatch) -> Result<Vec<u8>, DataFusionError> {
    let mut bytes = Vec::new();
    let mut writer = StreamWriter::try_new(&mut bytes, &batch.schema())?;
    writer.write(batch)?;
    writer.finish()?;
    drop(writer);
    Ok(bytes)
}

impl PythonColumns for PythonVectorizedFunction {
    fn callable(&self) -> &PickledCallable {
        &self.callable
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn result_type(&self) -> ArrowType {
        self.result.clone()
    }

    fn call(&self, arrays: &[ArrayRef], count: usize) -> Result<ArrayRef, DataFusionError> {
        self.call_batch(arrays, count)
    }
}

impl TableEnv {
    /// Registers the cloudpickled `_PandasScalarCall` `pickled_function` as the vectorized
    /// scalar function `name`, with results of the Flink SQL type `result_type`.
    pub fn create_python_vectorized_function(
        &self,
        name: String,
        pickled_function: Vec<u8>,
        result_type: String,
        deterministic: bool,
    ) -> Result<(), JobError> {
        let result = DataType::parse(&result_type)?;
        let function =
            PythonVectorizedFunction::new(name, pickled_function, &result, deterministic, self.python_settings());
        let function = PythonUdf::udf(function);
        self.thread().run(move |owned| owned.env.create_temporary_system_function(function))
    }
}
