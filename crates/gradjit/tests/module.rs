//! `#[derive(Module)]` and variable collection, checked against BrainPy's naming rules.

use gradjit::{Array, Error, Module, ModuleName, Naming, TrainVar, Tree, Var};
use std::collections::BTreeMap;
use std::sync::Arc;

#[derive(Module)]
struct Dense {
    name: ModuleName,
    w: TrainVar,
    b: TrainVar,
    /// A constant, not a variable.
    scale: Array,
}

impl Dense {
    fn new(name: ModuleName, n: usize) -> Dense {
        Dense { name, w: TrainVar::new(Array::ones([n])), b: TrainVar::new(0.0f32), scale: Array::from(1.0f32) }
    }
}

type History = Vec<Var>;

#[derive(Module)]
struct Block {
    name: ModuleName,
    dense: Dense,
    history: History,
    params: BTreeMap<String, TrainVar>,
    count: Var,
    #[module(skip)]
    scratch: Var,
    lr: f32,
}

impl Block {
    fn new() -> Block {
        Block {
            name: ModuleName::of::<Block>(),
            dense: Dense::new(ModuleName::of::<Dense>(), 2),
            history: vec![Var::new(0.0f32), Var::new(1.0f32)],
            params: BTreeMap::from([("beta".into(), TrainVar::new(2.0f32)), ("alpha".into(), TrainVar::new(3.0f32))]),
            count: Var::new(0i32),
            scratch: Var::new(0.0f32),
            lr: 0.1,
        }
    }
}

#[derive(Module)]
struct Net {
    name: ModuleName,
    blocks: Vec<Block>,
    heads: BTreeMap<String, Dense>,
    t: Var,
    bias: Option<TrainVar>,
}

fn net() -> Net {
    Net {
        name: ModuleName::of::<Net>(),
        blocks: vec![Block::new(), Block::new()],
        heads: BTreeMap::from([
            ("b".into(), Dense::new(ModuleName::of::<Dense>(), 1)),
            ("a".into(), Dense::new(ModuleName::of::<Dense>(), 1)),
        ]),
        t: Var::new(0.0f32),
        bias: Some(TrainVar::new(0.5f32)),
    }
}

#[test]
fn relative_names_are_paths_in_brainpy_order() {
    let net = net();
    let vars = net.vars_relative().unwrap();
    // The root's own variables, its direct children in field order (`Vec` items `-i`, map entries
    // `.key` in key order), then each child's subtree; each node's variables in field order.
    let expected = [
        "t",
        "bias",
        "blocks-0.history-0",
        "blocks-0.history-1",
        "blocks-0.params-alpha",
        "blocks-0.params-beta",
        "blocks-0.count",
        "blocks-1.history-0",
        "blocks-1.history-1",
        "blocks-1.params-alpha",
        "blocks-1.params-beta",
        "blocks-1.count",
        "heads.a.w",
        "heads.a.b",
        "heads.b.w",
        "heads.b.b",
        "blocks-0.dense.w",
        "blocks-0.dense.b",
        "blocks-1.dense.w",
        "blocks-1.dense.b",
    ];
    assert_eq!(vars.names().collect::<Vec<_>>(), expected);
    assert!(vars["blocks-1.params-alpha"] == *net.blocks[1].params["alpha"]);
    assert!(vars["heads.a.w"] == *net.heads["a"].w);
    assert!(!vars.vars().any(|v| *v == net.blocks[0].scratch), "#[module(skip)] fields are not collected");
}

#[test]
fn absolute_names_use_each_nodes_unique_name() {
    let net = net();
    let vars = net.vars().unwrap();
    assert_eq!(vars.len(), 20);
    let (b0, d0, head_a) = (&net.blocks[0], &net.blocks[0].dense, &net.heads["a"]);
    assert!(net.name().as_str().starts_with("Net") && d0.name().as_str().starts_with("Dense"));
    let name = |node: &ModuleName, field: &str| format!("{node}.{field}");
    assert_eq!(vars.names().take(2).collect::<Vec<_>>(), [name(&net.name, "t"), name(&net.name, "bias")]);
    assert!(vars[&*name(&b0.name, "history-1")] == b0.history[1]);
    assert!(vars[&*name(&b0.name, "params-beta")] == *b0.params["beta"]);
    assert!(vars[&*name(&d0.name, "w")] == *d0.w);
    assert!(vars[&*name(&head_a.name, "b")] == *head_a.b);
    // Unnamed variables take their absolute name, for error messages and gradient maps.
    assert_eq!(d0.w.name(), Some(name(&d0.name, "w")));
}

#[test]
fn train_vars_are_the_trainvar_subset() {
    let net = net();
    let all = net.vars_relative().unwrap();
    let train = net.train_vars().unwrap();
    assert_eq!(train.len(), 13);
    assert!(train.vars().all(Var::is_trainable));
    assert_eq!(all.trainable().len(), 13);
    assert!(train.names().all(|n| !n.ends_with(".t") && !n.contains("history") && !n.ends_with("count")));
    // Without the optional bias, one fewer.
    let net = Net { bias: None, ..net };
    assert_eq!(net.train_vars().unwrap().len(), 12);
}

#[test]
fn two_modules_of_one_name_conflict() {
    #[derive(Module)]
    struct Twins {
        name: ModuleName,
        pair: Vec<Dense>,
    }
    let twins = Twins {
        name: ModuleName::exact("parent"),
        pair: vec![Dense::new(ModuleName::exact("twin"), 1), Dense::new(ModuleName::exact("twin"), 1)],
    };
    let e = twins.vars().unwrap_err();
    assert!(matches!(&e, Error::NameConflict { name, .. } if name == "twin"));
    assert_eq!(e.to_string(), "Name \"twin\" conflicts: same name for Dense module `twin` and Dense module `twin`.");
    // Their paths differ, so relative names work.
    let rel = twins.vars_relative().unwrap();
    assert_eq!(rel.names().collect::<Vec<_>>(), ["pair-0.w", "pair-0.b", "pair-1.w", "pair-1.b"]);
}

#[test]
fn a_shared_module_is_collected_once() {
    #[derive(Module)]
    struct Tied {
        name: ModuleName,
        encoder: Arc<Dense>,
        decoder: Arc<Dense>,
    }
    let shared = Arc::new(Dense::new(ModuleName::exact("tied_dense"), 2));
    let tied = Tied { name: ModuleName::exact("tied"), encoder: shared.clone(), decoder: shared };
    assert_eq!(tied.vars().unwrap().names().collect::<Vec<_>>(), ["tied_dense.w", "tied_dense.b"]);
    assert_eq!(tied.vars_relative().unwrap().names().collect::<Vec<_>>(), ["encoder.w", "encoder.b"]);
}

#[test]
fn generic_tuple_and_explicitly_named_structs() {
    #[derive(Module)]
    struct Wrap<M: Module> {
        #[module(name)]
        id: ModuleName,
        inner: M,
        extra: [Var; 2],
    }
    #[derive(Module)]
    struct Pair(ModuleName, TrainVar, Var);

    let pair = Pair(ModuleName::exact("pair"), TrainVar::new(1.0f32), Var::new(2.0f32));
    assert_eq!(pair.vars().unwrap().names().collect::<Vec<_>>(), ["pair.1", "pair.2"]);
    let wrap = Wrap { id: ModuleName::exact("wrap"), inner: pair, extra: [Var::new(0.0f32), Var::new(0.0f32)] };
    assert_eq!(wrap.name().as_str(), "wrap");
    assert_eq!(wrap.vars_relative().unwrap().names().collect::<Vec<_>>(), ["extra-0", "extra-1", "inner.1", "inner.2"]);
    assert_eq!(wrap.vars_with(Naming::Relative, Some(0)).unwrap().len(), 2, "level 0: only the module's own");
    assert_eq!(wrap.type_name(), "Wrap");
}

#[test]
fn collections_become_dict_trees() {
    let block = Block::new();
    let train = block.vars_relative().unwrap().trainable();
    let tree: Tree<Var> = train.into();
    assert_eq!(tree.structure().to_string(), "{'dense.b': *, 'dense.w': *, 'params-alpha': *, 'params-beta': *}");
    assert!(tree["params-beta"].as_leaf() == Some(&*block.params["beta"]));
}

#[test]
fn unique_names_count_per_type() {
    #[derive(Module)]
    struct Counted {
        name: ModuleName,
    }
    let names: Vec<String> = (0..3).map(|_| Counted { name: ModuleName::of::<Counted>() }.name.to_string()).collect();
    assert_eq!(names, ["Counted0", "Counted1", "Counted2"]);
}
