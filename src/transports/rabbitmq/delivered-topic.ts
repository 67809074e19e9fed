/**
 * The topic a consumed message belongs to. Topics never name a delay
 * exchange (checkTopicName): a copy that came through the delay levels or the
 * default exchange (a retry, a release, a redrive) is known by its type
 * header instead; failing both, the subscription's first topic.
 */
export function deliveredTopic(topics: readonly string[], exchange: string, headers: Readonly<Record<string, string>>): string {
  if (topics.includes(exchange)) return exchange;
  const type = headers["ce-type"];
  if (type !== undefined && topics.includes(type)) return type;
  return topics[0] ?? exchange;
}
