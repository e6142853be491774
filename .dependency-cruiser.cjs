/**
 * The module graph of issue 13, checked by `npm run lint` (dependency-cruiser). Arrows point down:
 * a folder may import the folders below it, never one above it, and no folder or file is in a
 * cycle. docs/architecture.md draws it.
 *
 *   composition   src/*.ts (app, app.module, main), cli/
 *   shell         edge/, health/, threadfix-admin/, openapi/   (imported by the composition only)
 *   domain        nats → schedules → tasks → scanner-queues → imports → scans → applications → teams →
 *                 scan-agents → auth
 *   infrastructure events/, observability/, background/, storage/, database/, config/, rest/, errors/,
 *                 wakeups/, async/
 *                 (know no domain module; among themselves only the no-cycle rule)
 *
 * HTTP in the domain: controllers, DTOs, pipes, decorators, guards, filters, interceptors and the
 * readers of a multipart form use rest/ (the HTTP helpers). Every other domain file may import
 * from rest/ only the error base classes (rest-error.ts: the kind of failure and its status, which
 * each module's own errors extend) and the validation vocabulary the DTOs share (param-rules.ts):
 * a service never sees a request, a reply or an envelope.
 */

/** Highest first: each may import those after it. */
const DOMAIN = [
  'nats',
  'schedules',
  'tasks',
  'scanner-queues',
  'imports',
  'scans',
  'applications',
  'teams',
  'scan-agents',
  'auth',
];
const INFRASTRUCTURE = [
  'events',
  'observability',
  'background',
  'storage',
  'database',
  'config',
  'rest',
  'errors',
  'wakeups',
  'sql',
  'async',
];
const SHELL = ['edge', 'health', 'threadfix-admin', 'openapi'];

const anyOf = (folders) => `^src/(${folders.join('|')})/`;

/**
 * HTTP-facing files of a domain module, by their name: Nest's HTTP pieces, the readers of a
 * multipart form (`*-form.ts`, `*-forms.ts`, which hand services validated parameters and a staged
 * file) and NATS's envelope (the other way in answers with the REST envelope's failures).
 */
const HTTP_FILES =
  '\\.(controller|dto|pipe|decorator|guard|filter|interceptor)\\.ts$|-forms?\\.ts$|/form-validation\\.ts$|^src/nats/service-envelope\\.ts$';

const rules = [
  {
    name: 'no-file-cycle',
    comment: 'A file never reaches itself through its imports.',
    from: { path: '^src/' },
    to: { circular: true },
  },
  {
    name: 'no-folder-cycle',
    comment: 'A folder never reaches itself through its imports.',
    scope: 'folder',
    from: { path: '^src/' },
    to: { circular: true },
  },
  ...DOMAIN.map((folder, rank) => ({
    name: `no-upward-from-${folder}`,
    comment: `${folder}/ imports only the domain modules below it (${DOMAIN.slice(rank + 1).join(', ') || 'none'}) and the infrastructure.`,
    from: { path: `^src/${folder}/` },
    to: { path: anyOf([...DOMAIN.slice(0, rank), ...SHELL, 'cli']) },
  })),
  {
    name: 'infrastructure-knows-no-domain',
    comment:
      'events/, observability/, background/, storage/, database/, config/, rest/ and errors/ are generic: a domain module hooks into them, never the reverse. data-source-options.ts lists every entity for TypeORM (the schema), and may import *.entity.ts files only.',
    from: { path: anyOf(INFRASTRUCTURE) },
    to: { path: anyOf([...DOMAIN, ...SHELL, 'cli']), pathNot: '\\.entity\\.ts$' },
  },
  {
    name: 'only-data-source-options-knows-entities',
    comment: 'Of the infrastructure, only database/data-source-options.ts lists the entities.',
    from: { path: anyOf(INFRASTRUCTURE), pathNot: '^src/database/data-source-options\\.ts$' },
    to: { path: `${anyOf(DOMAIN)}.*\\.entity\\.ts$` },
  },
  {
    name: 'shell-only-from-composition',
    comment:
      'edge/, health/, threadfix-admin/ and openapi/ are wired by the composition (src/*.ts, cli/) only.',
    from: { path: '^src/[^/]+/', pathNot: `^src/cli/|${anyOf(SHELL)}` },
    to: { path: anyOf(SHELL) },
  },
  {
    name: 'domain-http-only-in-controllers',
    comment:
      'In a domain module only the HTTP-facing files (controllers, DTOs, pipes, decorators, guards, filters, interceptors) use rest/; the others may import its error classes (rest-error.ts) and the DTO validation vocabulary (param-rules.ts).',
    from: { path: anyOf(DOMAIN), pathNot: `${HTTP_FILES}|\\.spec\\.ts$` },
    to: { path: '^src/rest/', pathNot: '^src/rest/(rest-error|param-rules)\\.ts$' },
  },
];

module.exports = {
  forbidden: rules.map((rule) => ({ ...rule, severity: 'error' })),
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^src/database/migrations/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default'],
    },
  },
};
