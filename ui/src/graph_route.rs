//! The graph view's address: `#/graph?from=ID&to=ID&hops=N`, so that other pages (a finding's
//! privilege path, an entity page) can open the graph of a source with a path highlighted.

use crate::route::{decode, encode};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GraphQuery {
    pub from: Option<String>,
    pub to: Option<String>,
    pub hops: Option<u32>,
}

impl GraphQuery {
    /// Reads the query of a hash such as `#/graph?from=agent%3Ax&hops=3`; unknown keys and
    /// unreadable values are ignored.
    pub fn parse(hash: &str) -> GraphQuery {
        let mut query = GraphQuery::default();
        let Some((_, params)) = hash.split_once('?') else {
            return query;
        };
        for pair in params.split('&') {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let value = decode(value);
            match key {
                "from" if !value.is_empty() => query.from = Some(value),
                "to" if !value.is_empty() => query.to = Some(value),
                "hops" => query.hops = value.parse().ok(),
                _ => {}
            }
        }
        query
    }

    pub fn href(&self) -> String {
        let mut params = Vec::new();
        if let Some(from) = &self.from {
            params.push(format!("from={}", encode(from)));
        }
        if let Some(to) = &self.to {
            params.push(format!("to={}", encode(to)));
        }
        if let Some(hops) = self.hops {
            params.push(format!("hops={hops}"));
        }
        if params.is_empty() {
            "#/graph".to_owned()
        } else {
            format!("#/graph?{}", params.join("&"))
        }
    }
}

/// The graph of `from`, optionally with the path to `to` highlighted.
pub fn graph_href(from: &str, to: Option<&str>) -> String {
    GraphQuery {
        from: Some(from.to_owned()),
        to: to.map(str::to_owned),
        hops: None,
    }
    .href()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_round_trip_awkward_ids() {
        let query = GraphQuery {
            from: Some("arn:aws:iam::1:role/a b&c=d".into()),
            to: Some("res:#général".into()),
            hops: Some(3),
        };
        assert_eq!(GraphQuery::parse(&query.href()), query);
        assert_eq!(GraphQuery::parse("#/graph"), GraphQuery::default());
        assert_eq!(
            GraphQuery::parse("#/graph?from=agent:x&hops=many&colour=red"),
            GraphQuery {
                from: Some("agent:x".into()),
                ..GraphQuery::default()
            }
        );
        assert_eq!(graph_href("agent:x", None), "#/graph?from=agent:x");
    }
}
