/**
 * Generates docs/configuration.md from the code: for every settings object a node takes,
 * each field's name, its default (read from the live defaults object) and its meaning,
 * unit and trade-off (the field's doc comment, read with the TypeScript compiler). The
 * page is never edited by hand: `npm run docs:config` rewrites it, and
 * test/docs/configuration.test.ts fails when the page and the code differ or a field has
 * no doc comment.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { DEFAULT_ADMIN_CONFIG } from '../../src/gateway/admin-config.js';
import { DEFAULT_KV_CONFIG } from '../../src/grid/kv-config.js';
import { DEFAULT_CLIENT_GATEWAY_CONFIG } from '../../src/gateway/client-gateway-config.js';
import { DEFAULT_ENTITY_CONFIG } from '../../src/entities/entity-config.js';
import { DEFAULT_DURABLE_CONFIG } from '../../src/durable/durable-config.js';
import { DEFAULT_SWIM_CONFIG } from '../../src/membership/config.js';
import { DEFAULT_DRIVER_CONFIG } from '../../src/node/driver-config.js';
import { DEFAULT_ETCD_CONFIG } from '../../src/node/etcd/etcd-config.js';
import { DEFAULT_NODE_OPTIONS } from '../../src/node/node-config.js';
import { DEFAULT_PARTITION_CONFIG } from '../../src/partitions/config.js';
import { DEFAULT_COORDINATOR_CONFIG } from '../../src/partitions/coordinator-config.js';
import { DEFAULT_MIGRATION_CONFIG, DEFAULT_ROUTING_CONFIG } from '../../src/sharding/config.js';
import { DEFAULT_MERGE_HANDOVER_CONFIG } from '../../src/sharding/split-brain-merge.js';
import { DEFAULT_TRANSPORT_CONFIG } from '../../src/transport/config.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Where the generated page lives. */
export const CONFIGURATION_PAGE = `${ROOT}docs/configuration.md`;

/** One settings object: where its interface is declared and its live defaults. */
interface Section {
  /** How a program passes it (the `startNode` option, or the object's name). */
  readonly option: string;
  readonly file: string;
  readonly interfaceName: string;
  readonly defaults: object;
  /** Fields documented elsewhere (another section this interface extends). */
  readonly inherited?: readonly string[];
}

const SECTIONS: readonly Section[] = [
  { option: '`swim`', file: 'src/membership/config.ts', interfaceName: 'SwimConfig', defaults: DEFAULT_SWIM_CONFIG },
  { option: '`partitions` (layout)', file: 'src/partitions/config.ts', interfaceName: 'PartitionConfig', defaults: DEFAULT_PARTITION_CONFIG },
  {
    option: '`partitions` (coordinator)',
    file: 'src/partitions/coordinator-config.ts',
    interfaceName: 'CoordinatorConfig',
    defaults: DEFAULT_COORDINATOR_CONFIG,
    inherited: Object.keys(DEFAULT_PARTITION_CONFIG),
  },
  { option: '`routing`', file: 'src/sharding/config.ts', interfaceName: 'RoutingConfig', defaults: DEFAULT_ROUTING_CONFIG },
  { option: '`migration`', file: 'src/sharding/config.ts', interfaceName: 'MigrationConfig', defaults: DEFAULT_MIGRATION_CONFIG },
  { option: 'split-brain merge handover', file: 'src/sharding/split-brain-merge.ts', interfaceName: 'MergeHandoverConfig', defaults: DEFAULT_MERGE_HANDOVER_CONFIG },
  { option: '`kv`', file: 'src/grid/kv-config.ts', interfaceName: 'KvConfig', defaults: DEFAULT_KV_CONFIG },
  { option: '`entity`', file: 'src/entities/entity-config.ts', interfaceName: 'EntityConfig', defaults: DEFAULT_ENTITY_CONFIG },
  { option: '`durable`', file: 'src/durable/durable-config.ts', interfaceName: 'DurableConfig', defaults: DEFAULT_DURABLE_CONFIG },
  { option: '`transport`', file: 'src/transport/config.ts', interfaceName: 'TransportConfig', defaults: DEFAULT_TRANSPORT_CONFIG },
  { option: '`driver`', file: 'src/node/driver-config.ts', interfaceName: 'DriverConfig', defaults: DEFAULT_DRIVER_CONFIG },
  { option: '`etcd` (etcd mode, with `endpoints`)', file: 'src/node/etcd/etcd-config.ts', interfaceName: 'EtcdConfig', defaults: DEFAULT_ETCD_CONFIG },
  { option: '`lifecycle`', file: 'src/node/node-config.ts', interfaceName: 'LifecycleConfig', defaults: DEFAULT_NODE_OPTIONS.lifecycle },
  { option: 'admin API (`serveAdmin`, `--http`)', file: 'src/gateway/admin-config.ts', interfaceName: 'AdminServerConfig', defaults: DEFAULT_ADMIN_CONFIG },
  { option: 'client gateway (`serveClients`, `--client`)', file: 'src/gateway/client-gateway-config.ts', interfaceName: 'ClientGatewayConfig', defaults: DEFAULT_CLIENT_GATEWAY_CONFIG },
];

/** A field as documented. */
export interface FieldDoc {
  readonly name: string;
  readonly defaultValue: string;
  readonly doc: string;
}

/** The documented fields of `interfaceName` in `file` (own fields only, in declaration order). */
export function fieldsOf(file: string, interfaceName: string): { name: string; doc: string }[] {
  const source = ts.createSourceFile(file, readFileSync(`${ROOT}${file}`, 'utf8'), ts.ScriptTarget.Latest, true);
  let found: ts.InterfaceDeclaration | undefined;
  source.forEachChild((node) => {
    if (ts.isInterfaceDeclaration(node) && node.name.text === interfaceName) found = node;
  });
  if (found === undefined) throw new Error(`${file}: no interface ${interfaceName}`);
  return found.members.filter(ts.isPropertySignature).map((member) => {
    const comments = ts.getJSDocCommentsAndTags(member).filter(ts.isJSDoc);
    const doc = comments.map((c) => ts.getTextOfJSDocComment(c.comment) ?? '').join(' ');
    return { name: member.name.getText(source), doc: doc.replace(/\s+/g, ' ').trim() };
  });
}

function formatDefault(value: unknown): string {
  if (value === undefined) return '(none)';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return String(value);
    const mib = 1024 * 1024;
    if (value >= mib && value % mib === 0) return `${(value / mib).toLocaleString('en-US')} MiB`;
    return value.toLocaleString('en-US');
  }
  if (typeof value === 'string') return `\`${value}\``;
  return `\`${JSON.stringify(value)}\``;
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|');
}

/** Every documented section, with what is wrong (fields without a comment, defaults without a field). */
export function collect(): { sections: { section: Section; fields: FieldDoc[] }[]; problems: string[] } {
  const problems: string[] = [];
  const sections = SECTIONS.map((section) => {
    const declared = fieldsOf(section.file, section.interfaceName);
    const defaults = section.defaults as Record<string, unknown>;
    const fields = declared.map(({ name, doc }) => {
      if (doc === '') problems.push(`${section.interfaceName}.${name} (${section.file}) has no doc comment`);
      return { name, doc, defaultValue: formatDefault(defaults[name]) };
    });
    const names = new Set([...declared.map((f) => f.name), ...(section.inherited ?? [])]);
    for (const key of Object.keys(defaults)) if (!names.has(key)) problems.push(`${section.interfaceName}: default ${key} has no declared field`);
    return { section, fields };
  });
  return { sections, problems };
}

/** The page, as it must read. */
export function renderConfigurationPage(): string {
  const { sections } = collect();
  const lines = [
    '# Configuration',
    '',
    'Every setting a node takes, generated from the code by `npm run docs:config`',
    '(`docs/tools/config-docs.ts`): the default is read from the live defaults object and',
    'the text is the field\'s own doc comment. Do not edit this page by hand;',
    '`test/docs/configuration.test.ts` fails when it and the code differ. Each object is',
    'validated when the node starts: a bad value or combination fails with',
    '`FLO_CONFIG_INVALID` naming the field.',
    '',
  ];
  for (const { section, fields } of sections) {
    lines.push(`## ${section.option}: \`${section.interfaceName}\``, '', `Declared in \`${section.file}\`.`, '', '| field | default | meaning, unit, trade-off |', '| --- | --- | --- |');
    for (const f of fields) lines.push(`| \`${f.name}\` | ${cell(f.defaultValue)} | ${cell(f.doc)} |`);
    lines.push('');
  }
  return lines.join('\n');
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { problems } = collect();
  if (problems.length > 0) {
    process.stderr.write(`${problems.join('\n')}\n`);
    process.exitCode = 1;
  } else {
    writeFileSync(CONFIGURATION_PAGE, renderConfigurationPage());
    process.stdout.write(`wrote ${CONFIGURATION_PAGE}\n`);
  }
}
