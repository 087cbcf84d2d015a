// A Jsonnet project: one deployment per (region, table), generated.
// gitSha is the short SHA of the project's git HEAD; override it with
// --ext-str gitSha=TAG.
local regions = ['eu-west', 'us-east', 'ap-south'];
local tables = ['orders', 'customers', 'payments', 'inventory'];
local image = 'registry.example.com/etl/sync:' + std.extVar('gitSha');

local deployment(region, table) = {
  flow: 'sync-' + table,
  name: region,
  entrypoint: 'flows/sync.py:sync',
  image: image,
  pool: 'etl',
  queue: if table == 'orders' then 'realtime' else 'default',
  tags: ['region-' + region, 'db'],
  parameters: { region: region, table: table, full: false },
  parameterSchema: {
    type: 'object',
    properties: {
      region: { type: 'string' },
      table: { type: 'string' },
      full: { type: 'boolean' },
    },
    required: ['region', 'table'],
  },
  schedules: [{ interval: if table == 'orders' then '5m' else '1h' }],
  concurrencyLimit: 1,
};

{
  apiVersion: 'kubectl-flows.dev/v1alpha1',
  kind: 'Project',
  name: 'etl',
  namespace: 'etl',
  pools: [{
    name: 'etl',
    concurrencyLimit: 8,
    queues: [
      { name: 'realtime', priority: 1, concurrencyLimit: 3 },
      { name: 'default', priority: 2 },
    ],
  }],
  concurrencyLimits: [{ tag: 'db', limit: 4 }] + [
    { tag: 'region-' + r, limit: 2 }
    for r in regions
  ],
  deployments: [deployment(r, t) for r in regions for t in tables],
}
