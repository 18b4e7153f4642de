//! Network partitions with nftables: a table per fault in family `inet`, whose rules drop
//! loopback TCP to and from given ports. Only `lo` and only the environment's own ports are
//! touched; deleting the table heals the partition.

use std::io::Write;
use std::process::{Command, Stdio};

/// The table-name prefix of an environment (its base port keeps environments apart).
pub fn table_prefix(base_port: u16) -> String {
    format!("chaos_{base_port}_")
}

/// The nft script that creates `table`, dropping loopback TCP with source or destination port
/// in `ports` (both directions of every connection to those listeners).
pub fn partition_script(table: &str, ports: &[u16]) -> String {
    let set = ports
        .iter()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "table inet {table} {{\n  chain output {{\n    type filter hook output priority 0; policy accept;\n    oifname \"lo\" tcp dport {{ {set} }} drop\n    oifname \"lo\" tcp sport {{ {set} }} drop\n  }}\n}}\n"
    )
}

fn nft(args: &[&str], stdin: Option<&str>) -> Result<String, String> {
    let mut child = Command::new("nft")
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            format!(
                "run nft: {e} (partitions need nftables: `chaos setup` installs it with apt-get)"
            )
        })?;
    if let (Some(text), Some(mut input)) = (stdin, child.stdin.take()) {
        input
            .write_all(text.as_bytes())
            .map_err(|e| format!("write to nft: {e}"))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| format!("wait for nft: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "nft {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Creates the partition table.
pub fn apply(table: &str, ports: &[u16]) -> Result<(), String> {
    nft(&["-f", "-"], Some(&partition_script(table, ports)))?;
    Ok(())
}

/// Deletes a table; a table that is already gone is healed.
pub fn delete(table: &str) -> Result<(), String> {
    match nft(&["delete", "table", "inet", table], None) {
        Ok(_) => Ok(()),
        Err(e) if e.contains("No such file") || e.contains("does not exist") => Ok(()),
        Err(e) => Err(e),
    }
}

/// The `inet` tables whose name starts with `prefix`.
pub fn tables(prefix: &str) -> Result<Vec<String>, String> {
    let out = nft(&["list", "tables", "inet"], None)?;
    Ok(out
        .lines()
        .filter_map(|l| l.trim().strip_prefix("table inet "))
        .filter(|t| t.starts_with(prefix))
        .map(str::to_string)
        .collect())
}

/// Whether `nft` can be run here.
pub fn available() -> bool {
    nft(&["list", "tables"], None).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_script_drops_both_directions_on_loopback_only() {
        let s = partition_script("chaos_17000_f3", &[17040, 17041]);
        assert!(s.contains("table inet chaos_17000_f3 {"));
        assert!(s.contains("oifname \"lo\" tcp dport { 17040, 17041 } drop"));
        assert!(s.contains("oifname \"lo\" tcp sport { 17040, 17041 } drop"));
        assert_eq!(table_prefix(17000), "chaos_17000_");
    }

    /// Real nftables on this machine: a listener becomes unreachable while the table exists
    /// and reachable after it is deleted. Skips loudly where nft cannot run.
    #[test]
    fn a_partition_really_drops_loopback_traffic_and_heals() {
        if !available() {
            eprintln!("SKIPPED: nft is not available here (install nftables; needs root)");
            return;
        }
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let table = format!("chaos_test_{port}");
        apply(&table, &[port]).unwrap();
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        let during =
            std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_millis(500));
        let listed = tables("chaos_test_").unwrap();
        delete(&table).unwrap();
        delete(&table).expect("deleting twice is fine");
        assert!(during.is_err(), "connected through the partition");
        assert!(listed.contains(&table), "{listed:?}");
        let after =
            std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_millis(500));
        assert!(after.is_ok(), "still partitioned after heal: {after:?}");
        assert!(!tables("chaos_test_").unwrap().contains(&table));
    }
}
