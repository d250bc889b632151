// Counting what reached the DynamoDB table.
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';

/** The writes of one run found in the table, by who stored them. */
export interface Persisted {
  readonly total: number;
  /** Items stored in a full batch during an invocation. */
  readonly byBatch: number;
  /** Items stored by the shutdown handler. */
  readonly byShutdown: number;
  /** Items the shutdown handler handed off to the layer, which stored them. */
  readonly byHandoff: number;
}

/** Scans `table` for the items whose key starts with `prefix`. */
export async function countPersisted(ddb: DynamoDBClient, table: string, prefix: string): Promise<Persisted> {
  let total = 0;
  let byBatch = 0;
  let byShutdown = 0;
  let byHandoff = 0;
  let start: Record<string, any> | undefined;
  for (let page = 0; page < 1000; page++) {
    const out = await ddb.send(new ScanCommand({
      TableName: table,
      ExclusiveStartKey: start,
      FilterExpression: 'begins_with(pk, :prefix)',
      ExpressionAttributeValues: { ':prefix': { S: prefix } },
    }));
    for (const item of out.Items ?? []) {
      total++;
      if (item.stored_by?.S === 'shutdown') byShutdown++;
      else if (item.stored_by?.S === 'handoff') byHandoff++;
      else byBatch++;
    }
    start = out.LastEvaluatedKey;
    if (!start) break;
  }
  return { total, byBatch, byShutdown, byHandoff };
}
