/**
 * The OpenAPI document and Swagger UI. One function builds the document for both the running
 * server (`{CONTEXT_PATH}/docs`, JSON at `{CONTEXT_PATH}/docs-json`) and `npm run openapi`, which
 * exports it to the committed docs/openapi.json; CI fails when the two drift apart.
 */
import { INestApplication } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { onRequestHookHandler } from 'fastify';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';

export const DOCS_PATH = 'docs';
export const DOCS_JSON_PATH = 'docs-json';

/** ThreadFix's header scheme; the security scheme of every route that needs a key. */
export const API_KEY_SCHEME = 'APIKEY';

function documentConfig(contextPath: string): Omit<OpenAPIObject, 'paths'> {
  return new DocumentBuilder()
    .setTitle('scanqueue')
    .setDescription(
      "The work queue between the platform and its scan agents. Agent routes are ThreadFix's Scan Agent " +
        '"Tasks" API: every path also answers under `/rest/{version}/…` (`latest`, `v2.8`, `2.4`…), with or ' +
        'without the context path. Every response is the envelope `{message, success, responseCode, object}`. ' +
        'Authorize with your API key: the header is `Authorization: APIKEY <key>`, and Swagger UI adds the ' +
        '`APIKEY ` prefix when you paste the key alone.',
    )
    .setVersion('1.0')
    .addServer(contextPath || '/')
    .addApiKey(
      {
        type: 'apiKey',
        in: 'header',
        name: 'Authorization',
        description:
          'Sent as `Authorization: APIKEY <key>`. In Swagger UI, paste the key alone (the `APIKEY ` prefix is added) or the whole `APIKEY <key>`.',
      },
      API_KEY_SCHEME,
    )
    .build();
}

/** A copy of `map` with its keys in code-point order (locale-independent, so the same everywhere). */
function sortedByKey<T>(map: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(map).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/**
 * The document for an application whose modules are loaded (`preview` mode is enough: it reads
 * decorators, not instances). Paths keep the order the controllers declare them in (the order
 * Swagger UI shows); the component maps are sorted, so a DTO added anywhere lands in one
 * predictable place and the committed copy diffs cleanly.
 */
export function createOpenApiDocument(app: INestApplication, contextPath: string): OpenAPIObject {
  const document = SwaggerModule.createDocument(app, documentConfig(contextPath));
  const components = (document.components ?? {}) as Record<string, Record<string, unknown>>;
  document.components = Object.fromEntries(
    Object.entries(sortedByKey(components)).map(([kind, map]) => [kind, sortedByKey(map)]),
  );
  return document;
}

/**
 * Runs in the browser (Swagger UI serialises it with `toString()`, so it must not refer to
 * anything outside itself): a key pasted alone gets ThreadFix's `APIKEY ` prefix, which an admin
 * would otherwise have to type into the Authorize dialog; a value that already has it is kept.
 */
export function addApiKeyPrefix<T extends { headers: Record<string, string> }>(request: T): T {
  for (const name of Object.keys(request.headers)) {
    const value = request.headers[name];
    if (name.toLowerCase() === 'authorization' && typeof value === 'string') {
      const trimmed = value.trim();
      if (trimmed !== '' && !/^APIKEY\s/i.test(trimmed))
        request.headers[name] = `APIKEY ${trimmed}`;
    }
  }
  return request;
}

/**
 * Swagger UI's pages run with the key an admin pastes: they load nothing but their own files (its
 * styles set inline style attributes; its icons are data: URLs), talk only to this server, and
 * are never framed (clickjacking) nor give the page's URL to another site.
 */
export const DOCS_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; '),
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
};

/**
 * Serves Swagger UI at `/docs` and the document at `/docs-json` (both under the context path),
 * with DOCS_SECURITY_HEADERS. `persistAuthorization` (SWAGGER_PERSIST_AUTHORIZATION) keeps an
 * authorized key in the browser's localStorage across reloads; off by default, so a key pasted
 * into a shared browser is gone with the tab.
 */
export function setupSwaggerUi(
  app: INestApplication,
  document: OpenAPIObject,
  options: { persistAuthorization: boolean },
): void {
  const fastify = (app as NestFastifyApplication).getHttpAdapter().getInstance();
  // The docs' routes only, each its own hook: no check on every other request (an agent's poll).
  const addDocsHeaders: onRequestHookHandler = (_request, reply, done) => {
    void reply.headers(DOCS_SECURITY_HEADERS);
    done();
  };
  fastify.addHook('onRoute', (route) => {
    if (!route.url.startsWith(`/${DOCS_PATH}`)) return;
    route.onRequest = [...[route.onRequest ?? []].flat(), addDocsHeaders];
  });
  SwaggerModule.setup(DOCS_PATH, app, document, {
    jsonDocumentUrl: DOCS_JSON_PATH,
    // No YAML twin: one served form of the document, the one that is exported and checked.
    raw: ['json'],
    customSiteTitle: 'scanqueue API',
    swaggerOptions: {
      persistAuthorization: options.persistAuthorization,
      requestInterceptor: addApiKeyPrefix,
    },
  });
}
