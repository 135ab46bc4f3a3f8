//! Where the machine's CPU goes in (c), so its figures read as CPU-µs per order and per webhook
//! for each part (the benchmark plan's rule: raw rates do not transfer to other machines, CPU
//! per event does). This process's threads are told apart by the CPUs they are kept to
//! (`Cpus_allowed_list` in `/proc/self/task/*/status`): the draining instance's are kept to
//! its own CPU, the intake-only instance's and the generator's to the others. Each Redis node
//! reports its own (`INFO cpu`).

use std::ops::Sub;

/// CPU seconds used so far.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Usage {
    /// Threads kept to the ledger's CPU (all of this process when none is set apart).
    pub ledger: f64,
    /// This process's other threads: the intake-only instance and the load generator.
    pub intake: f64,
    /// The Redis nodes, together.
    pub redis: f64,
}

impl Sub for Usage {
    type Output = Usage;
    fn sub(self, before: Usage) -> Usage {
        Usage {
            ledger: self.ledger - before.ledger,
            intake: self.intake - before.intake,
            redis: self.redis - before.redis,
        }
    }
}

/// Reads the usage now. Parts that cannot be read count as 0 (reported as such, never failing
/// the bench: the rates stand without them).
pub async fn usage(nodes: &[String], ledger_cpu: Option<usize>) -> Usage {
    let (ledger, intake) = threads(ledger_cpu).unwrap_or_default();
    Usage { ledger, intake, redis: redis_seconds(nodes).await }
}

/// Clock ticks per second of `/proc`'s times (`getconf CLK_TCK`; 100 on Linux everywhere seen),
/// asked once.
fn ticks_per_second() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse::<f64>().ok())
            .filter(|t| *t > 0.0)
            .unwrap_or(100.0)
    })
}

/// CPU seconds of this process's threads: those kept to `ledger_cpu` alone, and the others.
fn threads(ledger_cpu: Option<usize>) -> Option<(f64, f64)> {
    let ticks = ticks_per_second();
    let (mut ledger, mut other) = (0.0, 0.0);
    for task in std::fs::read_dir("/proc/self/task").ok()?.flatten() {
        let path = task.path();
        let Some(seconds) = std::fs::read_to_string(path.join("stat")).ok().and_then(|s| stat_seconds(&s, ticks))
        else {
            continue; // the thread ended meanwhile
        };
        let kept_to = std::fs::read_to_string(path.join("status")).ok().and_then(|s| allowed_cpus(&s));
        match ledger_cpu {
            Some(cpu) if kept_to.as_deref() == Some(cpu.to_string().as_str()) => ledger += seconds,
            Some(_) => other += seconds,
            None => ledger += seconds,
        }
    }
    Some((ledger, other))
}

/// `utime + stime` of a `/proc/…/stat` line, in seconds. The command name may hold spaces and
/// parentheses, so the fields are counted from its last `)`.
fn stat_seconds(stat: &str, ticks: f64) -> Option<f64> {
    let after = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    // After the name: state is field 3 of the line, utime 14 and stime 15.
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / ticks)
}

fn allowed_cpus(status: &str) -> Option<String> {
    status.lines().find_map(|l| l.strip_prefix("Cpus_allowed_list:")).map(|v| v.trim().to_string())
}

/// `used_cpu_sys + used_cpu_user` summed over the nodes.
async fn redis_seconds(nodes: &[String]) -> f64 {
    let mut total = 0.0;
    for node in nodes {
        let Ok(client) = redis::Client::open(node.as_str()) else { continue };
        let Ok(mut conn) = client.get_multiplexed_async_connection().await else { continue };
        let info: Result<String, _> = redis::cmd("INFO").arg("cpu").query_async(&mut conn).await;
        if let Ok(info) = info {
            total += info_field(&info, "used_cpu_sys") + info_field(&info, "used_cpu_user");
        }
    }
    total
}

/// The CPUs the Redis nodes may run on, read from `/proc/<pid>/status` of each node's process
/// (`INFO server`'s `process_id`): one list when all nodes share it, each node's otherwise.
/// `None` when a node cannot be asked or is not a process of this machine.
pub async fn redis_cpus(nodes: &[String]) -> Option<String> {
    let mut lists = Vec::new();
    for node in nodes {
        let client = redis::Client::open(node.as_str()).ok()?;
        let mut conn = client.get_multiplexed_async_connection().await.ok()?;
        let info: String = redis::cmd("INFO").arg("server").query_async(&mut conn).await.ok()?;
        let pid = info_field(&info, "process_id") as u64;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        // A pid of another machine's process may name one of ours: check it is a Redis.
        if !status.lines().any(|l| l.starts_with("Name:") && l.contains("redis")) {
            return None;
        }
        lists.push(allowed_cpus(&status)?);
    }
    let first = lists.first()?.clone();
    Some(if lists.iter().all(|l| *l == first) { first } else { lists.join(" / ") })
}

fn info_field(info: &str, name: &str) -> f64 {
    info.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|rest| rest.strip_prefix(':')))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stat_line_gives_user_and_system_time_even_with_a_name_holding_spaces_and_parentheses() {
        let line = "4242 (tokio (rt) worker) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0 1 0 99";
        assert_eq!(stat_seconds(line, 100.0), Some(3.0));
        assert_eq!(stat_seconds("4242 (cut", 100.0), None);
    }

    #[test]
    fn the_allowed_cpus_and_redis_cpu_fields_are_read_from_their_lines() {
        assert_eq!(allowed_cpus("Name:\tx\nCpus_allowed_list:\t1\nMems: 0\n").as_deref(), Some("1"));
        let info = "# CPU\r\nused_cpu_sys:1.500000\r\nused_cpu_user:2.250000\r\nused_cpu_sys_children:9\r\n";
        assert_eq!(info_field(info, "used_cpu_sys") + info_field(info, "used_cpu_user"), 3.75);
    }
}
