//! Immediate dominators on compressed adjacency (Lengauer–Tarjan, the simple version with path
//! compression: O(m log n)).
//!
//! petgraph has `algo::dominators::simple_fast`, which the tests use as the reference; this one
//! exists because chokepoints run it once per agent (or per crown jewel) over a graph of
//! hundreds of thousands of nodes, and it must reuse its buffers and avoid hashing. Everything
//! is in DFS-preorder numbers, where a dominator always has a smaller number than the nodes it
//! dominates — which lets callers aggregate over the dominator tree with one backward sweep.

const UNSEEN: u32 = u32::MAX;

/// Compressed adjacency over `0..n`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Csr {
    pub offsets: Vec<u32>,
    pub targets: Vec<u32>,
}

impl Csr {
    /// Builds from (from, to) pairs over `n` nodes.
    pub fn from_pairs(n: usize, pairs: &[(u32, u32)]) -> Csr {
        let mut offsets = vec![0u32; n + 1];
        for &(from, _) in pairs {
            offsets[from as usize + 1] += 1;
        }
        for i in 0..n {
            offsets[i + 1] += offsets[i];
        }
        let mut cursor = offsets.clone();
        let mut targets = vec![0u32; pairs.len()];
        for &(from, to) in pairs {
            targets[cursor[from as usize] as usize] = to;
            cursor[from as usize] += 1;
        }
        Csr { offsets, targets }
    }

    /// The same edges, reversed.
    pub fn reversed(&self) -> Csr {
        let n = self.offsets.len() - 1;
        let mut pairs = Vec::with_capacity(self.targets.len());
        for from in 0..n {
            for &to in self.neighbours(from as u32) {
                pairs.push((to, from as u32));
            }
        }
        Csr::from_pairs(n, &pairs)
    }

    pub fn neighbours(&self, node: u32) -> &[u32] {
        &self.targets
            [self.offsets[node as usize] as usize..self.offsets[node as usize + 1] as usize]
    }
}

/// Buffers for repeated dominator computations over graphs of at most `n` nodes.
pub(crate) struct Dominators {
    /// Node → preorder number, or [`UNSEEN`].
    preorder: Vec<u32>,
    /// Preorder number → node.
    pub vertex: Vec<u32>,
    /// Preorder number → the preorder number of its DFS parent.
    parent: Vec<u32>,
    semi: Vec<u32>,
    /// Preorder number → preorder number of its immediate dominator (the root's is itself).
    pub idom: Vec<u32>,
    ancestor: Vec<u32>,
    label: Vec<u32>,
    bucket_head: Vec<u32>,
    bucket_next: Vec<u32>,
    stack: Vec<(u32, u32)>,
    path: Vec<u32>,
}

impl Dominators {
    pub fn new(n: usize) -> Dominators {
        Dominators {
            preorder: vec![UNSEEN; n],
            vertex: Vec::with_capacity(n),
            parent: Vec::new(),
            semi: Vec::new(),
            idom: Vec::new(),
            ancestor: Vec::new(),
            label: Vec::new(),
            bucket_head: Vec::new(),
            bucket_next: Vec::new(),
            stack: Vec::new(),
            path: Vec::new(),
        }
    }

    /// Number of nodes reached by the last [`Dominators::compute`].
    pub fn len(&self) -> usize {
        self.vertex.len()
    }

    /// Computes the dominator tree of the nodes reachable from `root` along `successors`
    /// (`predecessors` must be its reverse). Afterwards `vertex[i]` is the node with preorder
    /// number `i` (`vertex[0] == root`) and `idom[i] < i` the preorder number of its immediate
    /// dominator, for `i > 0`.
    pub fn compute(&mut self, successors: &Csr, predecessors: &Csr, root: u32) {
        for &node in &self.vertex {
            self.preorder[node as usize] = UNSEEN;
        }
        self.vertex.clear();
        self.parent.clear();

        // Iterative DFS numbering in preorder.
        self.preorder[root as usize] = 0;
        self.vertex.push(root);
        self.parent.push(0);
        self.stack.clear();
        self.stack.push((root, successors.offsets[root as usize]));
        while let Some(top) = self.stack.last_mut() {
            let (node, cursor) = *top;
            let end = successors.offsets[node as usize + 1];
            if cursor == end {
                self.stack.pop();
                continue;
            }
            top.1 += 1;
            let next = successors.targets[cursor as usize];
            if self.preorder[next as usize] == UNSEEN {
                self.preorder[next as usize] = self.vertex.len() as u32;
                self.vertex.push(next);
                self.parent.push(self.preorder[node as usize]);
                self.stack.push((next, successors.offsets[next as usize]));
            }
        }

        let n = self.vertex.len();
        self.semi.clear();
        self.semi.extend(0..n as u32);
        self.label.clear();
        self.label.extend(0..n as u32);
        self.ancestor.clear();
        self.ancestor.resize(n, UNSEEN);
        self.idom.clear();
        self.idom.resize(n, 0);
        self.bucket_head.clear();
        self.bucket_head.resize(n, UNSEEN);
        self.bucket_next.clear();
        self.bucket_next.resize(n, UNSEEN);

        for w in (1..n as u32).rev() {
            let node = self.vertex[w as usize];
            for &p in predecessors.neighbours(node) {
                let v = self.preorder[p as usize];
                if v == UNSEEN {
                    continue;
                }
                let u = self.eval(v);
                if self.semi[u as usize] < self.semi[w as usize] {
                    self.semi[w as usize] = self.semi[u as usize];
                }
            }
            let s = self.semi[w as usize] as usize;
            self.bucket_next[w as usize] = self.bucket_head[s];
            self.bucket_head[s] = w;
            let p = self.parent[w as usize];
            self.ancestor[w as usize] = p;
            let mut v = std::mem::replace(&mut self.bucket_head[p as usize], UNSEEN);
            while v != UNSEEN {
                let next = self.bucket_next[v as usize];
                let u = self.eval(v);
                self.idom[v as usize] = if self.semi[u as usize] < self.semi[v as usize] {
                    u
                } else {
                    p
                };
                v = next;
            }
        }
        for w in 1..n {
            if self.idom[w] != self.semi[w] {
                self.idom[w] = self.idom[self.idom[w] as usize];
            }
        }
        if n > 0 {
            self.idom[0] = 0;
        }
    }

    /// The node with the smallest semidominator on the forest path from `v` up to (excluding)
    /// its root, compressing the path on the way (iteratively, so deep graphs cannot overflow
    /// the stack).
    fn eval(&mut self, v: u32) -> u32 {
        if self.ancestor[v as usize] == UNSEEN {
            return v;
        }
        self.path.clear();
        let mut x = v;
        while self.ancestor[self.ancestor[x as usize] as usize] != UNSEEN {
            self.path.push(x);
            x = self.ancestor[x as usize];
        }
        while let Some(x) = self.path.pop() {
            let a = self.ancestor[x as usize];
            if self.semi[self.label[a as usize] as usize]
                < self.semi[self.label[x as usize] as usize]
            {
                self.label[x as usize] = self.label[a as usize];
            }
            self.ancestor[x as usize] = self.ancestor[a as usize];
        }
        self.label[v as usize]
    }
}

#[cfg(test)]
mod tests {
    use petgraph::algo::dominators::simple_fast;
    use petgraph::graph::{DiGraph, NodeIndex};

    use super::*;

    /// Compares with petgraph's reference implementation on many pseudo-random graphs.
    #[test]
    fn agrees_with_petgraph_simple_fast() {
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move |bound: u64| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 33) % bound
        };
        let mut dominators = Dominators::new(64);
        for _ in 0..500 {
            let n = 2 + next(40) as usize;
            let m = next(3 * n as u64) as usize;
            let pairs: Vec<(u32, u32)> = (0..m)
                .map(|_| (next(n as u64) as u32, next(n as u64) as u32))
                .collect();
            let succ = Csr::from_pairs(n, &pairs);
            let pred = succ.reversed();
            let root = next(n as u64) as u32;
            dominators.compute(&succ, &pred, root);

            let mut graph = DiGraph::<(), ()>::new();
            for _ in 0..n {
                graph.add_node(());
            }
            for &(a, b) in &pairs {
                graph.add_edge(NodeIndex::new(a as usize), NodeIndex::new(b as usize), ());
            }
            let reference = simple_fast(&graph, NodeIndex::new(root as usize));
            let reached: usize = (0..n)
                .filter(|&v| {
                    reference.immediate_dominator(NodeIndex::new(v)).is_some() || v == root as usize
                })
                .count();
            assert_eq!(reached, dominators.len());
            for i in 1..dominators.len() {
                let node = dominators.vertex[i];
                let idom = dominators.vertex[dominators.idom[i] as usize];
                assert!(dominators.idom[i] < i as u32);
                assert_eq!(
                    reference.immediate_dominator(NodeIndex::new(node as usize)),
                    Some(NodeIndex::new(idom as usize)),
                );
            }
        }
    }
}
