/**
 * A throughput row of missive against the raw client: medians over the
 * rounds, ratios taken within each round, CPU per message and peak RSS of
 * each side in the notes. Transports add their peer and notes after.
 */
import type { ThroughputResult } from "../cases/sqlite.js";
import { emptyRow, median, morePeer, morePeerKey, ratios, roundInt, type Row } from "./results.js";

export type Phase = "publish" | "consume";

export const phaseRate = (phase: Phase) => (t: ThroughputResult): number => (phase === "publish" ? t.publish : t.consume);
export const phaseRss = (phase: Phase) => (t: ThroughputResult): number => (phase === "publish" ? t.publishRssMb : t.consumeRssMb);
export const phaseCpu = (phase: Phase) => (t: ThroughputResult): number => (phase === "publish" ? t.publishCpuUsPerMsg : t.consumeCpuUsPerMsg);

export function throughputRow(transport: string, name: string, raw: readonly ThroughputResult[], mis: readonly ThroughputResult[], phase: Phase): Row {
  const [rate, rss, cpu] = [phaseRate(phase), phaseRss(phase), phaseCpu(phase)];
  const out = emptyRow(transport, name);
  const m = mis.map(rate);
  const w = raw.map(rate);
  out.msgs_per_s = roundInt(median(m));
  out.raw_msgs_per_s = roundInt(median(w));
  out.runs = { msgs_per_s: m, raw_msgs_per_s: w, ratio: ratios(m, w) };
  out.ratio = median(out.runs["ratio"]!);
  out.rss_mb = Math.max(...mis.map(rss));
  out.notes = { cpu_us_per_msg: median(mis.map(cpu)), raw_cpu_us_per_msg: median(raw.map(cpu)), raw_rss_mb: Math.max(...raw.map(rss)) };
  return out;
}

/** The peer's figures on a throughput row made by throughputRow, ratios taken within each round. */
export function addPeer(out: Row, mis: readonly ThroughputResult[], peer: readonly ThroughputResult[], phase: Phase, label: string): void {
  const m = mis.map(phaseRate(phase));
  const p = peer.map(phaseRate(phase));
  out.peer = label;
  out.peer_msgs_per_s = roundInt(median(p));
  out.runs["peer_msgs_per_s"] = p;
  out.runs["peer_ratio"] = ratios(m, p);
  out.peer_ratio = median(out.runs["peer_ratio"]);
  out.notes["peer_cpu_us_per_msg"] = median(peer.map(phaseCpu(phase)));
  out.notes["peer_rss_mb"] = Math.max(...peer.map(phaseRss(phase)));
}

/**
 * A further peer's figures on a throughput row (beside the first, added by addPeer), ratios taken within each
 * round: its rate and ratio in `more_peers`, every round's in `runs` and its CPU and RSS in `notes`, keyed
 * `<name>_…` (morePeerKey).
 */
export function addMorePeer(out: Row, mis: readonly ThroughputResult[], peer: readonly ThroughputResult[], phase: Phase, name: string, label: string): void {
  const m = mis.map(phaseRate(phase));
  const p = peer.map(phaseRate(phase));
  const key = morePeerKey(name);
  const figures = morePeer(out, name, label);
  figures.peer_msgs_per_s = roundInt(median(p));
  const perRound = ratios(m, p);
  out.runs[`${key}msgs_per_s`] = p;
  out.runs[`${key}ratio`] = perRound;
  figures.peer_ratio = median(perRound);
  out.notes[`${key}cpu_us_per_msg`] = median(peer.map(phaseCpu(phase)));
  out.notes[`${key}rss_mb`] = Math.max(...peer.map(phaseRss(phase)));
}
