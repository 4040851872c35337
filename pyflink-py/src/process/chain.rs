//! Chaining in process mode: consecutive Python transformations (`map`, `flat_map`,
//! `filter`, and a `key_by` selector after them) run in one worker process, so that records
//! cross the pipe once per chain, not once per function. A transformation joins the chain of
//! its input when it is that input's only reader, at the same parallelism, and the input's
//! records are untyped (a typed record is converted by the engine between the two).

use std::collections::{HashMap, HashSet};

use crate::plan::{Plan, Step};
use crate::process::bundled::Stage;

/// The chains of a plan in process mode.
#[derive(Debug, Default)]
pub struct ProcessChains {
    /// Steps that run inside the chain of a later step.
    absorbed: HashSet<usize>,
    /// For the last step of each chain of two or more: the step the chain reads, and the
    /// transformations before the last step.
    chains: HashMap<usize, (usize, Vec<Stage>)>,
}

impl ProcessChains {
    /// The chains of `plan`.
    pub fn new(plan: &Plan) -> Self {
        let mut readers = vec![0usize; plan.steps.len()];
        for planned in &plan.steps {
            planned.step.inputs().into_iter().for_each(|input| readers[input] += 1);
        }
        for sink in &plan.sinks {
            readers[sink.step] += 1;
        }
        let mut chains = ProcessChains::default();
        for (index, planned) in plan.steps.iter().enumerate() {
            let (input, parallelism_matches) = match &planned.step {
                Step::Transform { input, .. } => (*input, plan.steps[*input].parallelism == planned.parallelism),
                // A key selector runs at its input's parallelism.
                Step::KeyBy { input, .. } => (*input, true),
                _ => continue,
            };
            let upstream = &plan.steps[input];
            let Step::Transform { function, transform, name, .. } = &upstream.step else { continue };
            if readers[input] != 1 || !parallelism_matches || !upstream.record_type.is_pickled() {
                continue;
            }
            let (first, mut stages) = chains.chains.remove(&input).unwrap_or((upstream_input(plan, input), Vec::new()));
            // A name given on the stream names the stage in the chain's name.
            let name = upstream.name.clone().unwrap_or_else(|| name.clone());
            stages.push(Stage { transform: *transform, function: function.clone(), name });
            chains.absorbed.insert(input);
            chains.chains.insert(index, (first, stages));
        }
        chains
    }

    /// The name of the operator running `name` after `stages`, as Flink names chains.
    pub fn chained_name(stages: &[Stage], name: &str) -> String {
        stages.iter().map(|stage| stage.name.as_str()).chain([name]).collect::<Vec<_>>().join(" -> ")
    }

    /// Whether `step` runs inside the chain of a later step.
    pub fn is_absorbed(&self, step: usize) -> bool {
        self.absorbed.contains(&step)
    }

    /// For the last step of a chain: the step the chain reads, and the transformations before
    /// the step itself.
    pub fn chain(&self, step: usize) -> Option<&(usize, Vec<Stage>)> {
        self.chains.get(&step)
    }
}

/// The input of the transformation `step`.
fn upstream_input(plan: &Plan, step: usize) -> usize {
    plan.steps[step].step.input().expect("a transformation has an input")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{PlannedStep, SinkKind};
    use crate::thread::operators::Transform;
    use crate::types::{BasicType, TypeInfo};

    fn step(step: Step) -> PlannedStep {
        PlannedStep::new(step, TypeInfo::Pickled)
    }

    fn map(input: usize, name: &str) -> PlannedStep {
        step(Step::Transform { input, function: vec![input as u8], transform: Transform::Map, name: name.into() })
    }

    #[test]
    fn single_reader_transformations_chain_up_to_the_key_selector() {
        let mut plan = Plan::default();
        plan.steps.push(step(Step::Sequence { from: 0, to: 9 }));
        plan.steps.push(map(0, "a"));
        plan.steps.push(map(1, "b"));
        plan.steps.push(step(Step::KeyBy { input: 2, selector: vec![9] }));
        plan.steps.push(step(Step::Reduce { input: 3, function: vec![], name: "r".into() }));
        let chains = ProcessChains::new(&plan);
        assert!(chains.is_absorbed(1) && chains.is_absorbed(2) && !chains.is_absorbed(3));
        let (first, stages) = chains.chain(3).expect("the key selector ends the chain");
        assert_eq!(*first, 0);
        assert_eq!(ProcessChains::chained_name(stages, "Key Selector"), "a -> b -> Key Selector");
    }

    #[test]
    fn branches_typed_records_sinks_and_parallelism_changes_break_chains() {
        let mut plan = Plan::default();
        plan.steps.push(step(Step::Sequence { from: 0, to: 9 }));
        plan.steps.push(map(0, "shared"));
        plan.steps.push(map(1, "left"));
        plan.steps.push(map(1, "right"));
        let mut typed = map(2, "typed");
        typed.record_type = TypeInfo::Basic { kind: BasicType::Long };
        plan.steps.push(typed);
        plan.steps.push(map(4, "after typed"));
        let mut wider = map(3, "wider");
        wider.parallelism = Some(4);
        plan.steps.push(wider);
        plan.steps.push(map(6, "printed"));
        plan.steps.push(map(7, "after print"));
        plan.sinks.push(crate::plan::PlannedSink {
            id: 0,
            step: 7,
            kind: SinkKind::Print,
            name: None,
            uid: None,
            parallelism: None,
        });
        let chains = ProcessChains::new(&plan);
        // Two readers, a typed record, another parallelism, a sink: each breaks the chain.
        assert!(!chains.is_absorbed(1) && !chains.is_absorbed(4) && !chains.is_absorbed(3) && !chains.is_absorbed(7));
        // "left" joins "typed"'s chain: its own records are untyped.
        assert!(chains.is_absorbed(2));
        assert_eq!(chains.chain(4).map(|(first, stages)| (*first, stages.len())), Some((1, 1)));
    }
}
