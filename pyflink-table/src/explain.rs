//! `explain`: a query's plan as DataFusion reads it, after optimizing, and as the operators
//! that run it, in the sections Flink's `explain` prints.

use std::fmt;

use pyflink_core::StreamExecutionEnvironment;

use crate::environment::Table;
use crate::error::{Result, TableError};

/// What an explanation shows besides the plans (Flink's `ExplainDetail`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ExplainDetail {
    /// The optimizer's cost estimates of each node (not supported: refused with an error).
    EstimatedCost,
    /// The kinds of changes each node produces (not supported: refused with an error).
    ChangelogMode,
    /// The job's execution plan as JSON (not supported: refused with an error).
    JsonExecutionPlan,
    /// Advice on the optimized plan, under its heading `== Optimized Physical Plan With Advice ==`.
    PlanAdvice,
}

impl ExplainDetail {
    /// The detail of Flink's name (`PLAN_ADVICE`, `CHANGELOG_MODE`, ...), in any case.
    pub fn from_name(name: &str) -> Option<ExplainDetail> {
        match name.to_ascii_uppercase().as_str() {
            "ESTIMATED_COST" => Some(ExplainDetail::EstimatedCost),
            "CHANGELOG_MODE" => Some(ExplainDetail::ChangelogMode),
            "JSON_EXECUTION_PLAN" => Some(ExplainDetail::JsonExecutionPlan),
            "PLAN_ADVICE" => Some(ExplainDetail::PlanAdvice),
            _ => None,
        }
    }

    /// Flink's name of the detail.
    pub fn name(self) -> &'static str {
        match self {
            ExplainDetail::EstimatedCost => "ESTIMATED_COST",
            ExplainDetail::ChangelogMode => "CHANGELOG_MODE",
            ExplainDetail::JsonExecutionPlan => "JSON_EXECUTION_PLAN",
            ExplainDetail::PlanAdvice => "PLAN_ADVICE",
        }
    }
}

impl fmt::Display for ExplainDetail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Table {
    /// The query's plan in Flink's three sections: `== Abstract Syntax Tree ==` (the plan as
    /// DataFusion reads the query), `== Optimized Physical Plan ==` (after DataFusion's
    /// optimizer) and `== Optimized Execution Plan ==` (the operators that run it, each above
    /// the operators it reads from).
    ///
    /// ```
    /// use pyflink_table::environment::{EnvironmentSettings, TableEnvironment};
    /// let t_env = TableEnvironment::create(EnvironmentSettings::in_streaming_mode());
    /// let counts = t_env.sql_query("SELECT k, COUNT(*) AS n FROM (VALUES ('a'), ('b'), ('a')) AS t(k) GROUP BY k").unwrap();
    /// let plan = counts.explain().unwrap();
    /// assert!(plan.starts_with("== Abstract Syntax Tree ==\n"));
    /// assert!(plan.contains("== Optimized Execution Plan ==\nCalc(select=[t.k, count(*) AS n])\n+- GroupAggregate("));
    /// ```
    pub fn explain(&self) -> Result<String> {
        self.explain_with(&[])
    }

    /// The query's plan (see [`Table::explain`]) with `details`; with
    /// [`ExplainDetail::PlanAdvice`], the optimized plan is headed `== Optimized Physical Plan
    /// With Advice ==` and followed by the advice found (`No available advice...` when none).
    pub fn explain_with(&self, details: &[ExplainDetail]) -> Result<String> {
        if let Some(detail) = details.iter().find(|detail| **detail != ExplainDetail::PlanAdvice) {
            return Err(TableError::Unsupported(format!(
                "ExplainDetail.{detail} is not supported yet; explain() and ExplainDetail.PLAN_ADVICE are"
            )));
        }
        let optimized = crate::exec::optimize(&self.plan)?;
        let operators = self.operator_tree()?;
        let mut explained = format!("== Abstract Syntax Tree ==\n{}\n\n", self.plan.display_indent());
        if details.contains(&ExplainDetail::PlanAdvice) {
            // No rule of ours gives advice yet (Flink's advise on state TTL and two-phase
            // aggregation, which our planner does not choose between).
            explained.push_str(&format!(
                "== Optimized Physical Plan With Advice ==\n{}\n\nNo available advice...\n\n",
                optimized.display_indent()
            ));
        } else {
            explained.push_str(&format!("== Optimized Physical Plan ==\n{}\n\n", optimized.display_indent()));
        }
        explained.push_str(&format!("== Optimized Execution Plan ==\n{operators}"));
        Ok(explained)
    }

    /// The operators that would run the query, built in an environment of their own so that
    /// the table's environment is left as it was.
    fn operator_tree(&self) -> Result<String> {
        let scratch = StreamExecutionEnvironment::get_execution_environment();
        let catalog = self.env.catalog();
        let mut compiler = self.env.compiler(&catalog);
        compiler.env = &scratch;
        Ok(compiler.compile(&self.plan)?.stream.explain())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::environment::{EnvironmentSettings, TableEnvironment};

    fn words() -> Table {
        let t_env = TableEnvironment::create(EnvironmentSettings::in_streaming_mode());
        t_env.sql_query("SELECT w, COUNT(*) AS n FROM (VALUES ('a'), ('b')) AS t(w) WHERE w <> 'c' GROUP BY w").unwrap()
    }

    #[test]
    fn the_execution_plan_lists_each_operator_above_its_input() {
        let plan = words().explain().unwrap();
        let operators = plan.split("== Optimized Execution Plan ==\n").nth(1).unwrap();
        let lines: Vec<&str> = operators.lines().collect();
        assert_eq!(lines[0], "Calc(select=[t.w, count(*) AS n])", "{plan}");
        assert_eq!(lines[1], "+- GroupAggregate(groupBy=[t.w], select=[count(*)])", "{plan}");
        assert!(lines[1..].iter().all(|line| line.starts_with("+- ") || line.starts_with("   ")), "{plan}");
        assert!(lines.last().unwrap().ends_with("Source: Values"), "{plan}");
    }

    #[test]
    fn plan_advice_heads_the_optimized_plan_and_says_there_is_none() {
        let plan = words().explain_with(&[ExplainDetail::PlanAdvice]).unwrap();
        assert!(plan.contains("== Optimized Physical Plan With Advice ==\n"), "{plan}");
        assert!(plan.contains("\n\nNo available advice...\n\n== Optimized Execution Plan ==\n"), "{plan}");
        assert!(!plan.contains("== Optimized Physical Plan ==\n"), "{plan}");
    }

    #[test]
    fn details_not_supported_are_refused_by_name() {
        let error = words().explain_with(&[ExplainDetail::ChangelogMode]).unwrap_err().to_string();
        assert!(error.contains("ExplainDetail.CHANGELOG_MODE is not supported"), "{error}");
        assert_eq!(ExplainDetail::from_name("plan_advice"), Some(ExplainDetail::PlanAdvice));
        assert_eq!(ExplainDetail::from_name("COST"), None);
    }
}
