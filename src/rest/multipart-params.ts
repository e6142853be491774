/**
 * A multipart/form-data operation's parameters, validated as `@RestParams()` ones are: the query
 * string's and the form's fields merged (Spring's @RequestParam), checked against the DTO. The one
 * file part goes to `onFile` while the body streams, with the parameters that came before it, so
 * a caller can check them (keys, rights) before it reads a byte of the file.
 */
import { MultipartFilePart, MultipartLimits, readMultipartForm } from './multipart-form';
import { cameBeforeFile, mergeParams } from './param-values';
import { validateParams } from './rest-params';

export interface MultipartParamsSpec<P extends object, F> {
  /** The DTO the merged parameters are validated against; none: they are passed on as given. */
  params?: new () => P;
  /** What `@RestParams()` gave the route (query string). */
  plain: Record<string, unknown>;
  limits: MultipartLimits;
  /** The names the file part may have. */
  fileFields: readonly string[];
  /** Takes the file part; `before` holds the parameters that came before it, not validated yet. */
  onFile: (file: MultipartFilePart, before: Record<string, unknown>) => Promise<F>;
  /**
   * A parameter the file part stands for when no field gives it (ThreadFix's Python client sends
   * requestTask's agentConfig as a file part): it must then be the file's text.
   */
  fileAsParam?: string;
}

export async function readMultipartParams<P extends object, F>(
  request: Parameters<typeof readMultipartForm>[0],
  spec: MultipartParamsSpec<P, F>,
): Promise<{ params: P; file?: F }> {
  const { fields, file } = await readMultipartForm(
    request,
    spec.limits,
    spec.fileFields,
    (part, fieldsSoFar) => spec.onFile(part, mergeParams(spec.plain, fieldsSoFar)),
  );
  const fileParam =
    spec.fileAsParam && fields[spec.fileAsParam] === undefined && file !== undefined
      ? { [spec.fileAsParam]: file }
      : {};
  const merged = mergeParams(spec.plain, fields, fileParam);
  const params = spec.params ? await validateParams(spec.params, merged) : (merged as P);
  return { params, file };
}

/**
 * The parameters that came before a file part, validated, when every one of `required` is among
 * them (an empty one too, refused here before the file is read); else undefined: the check they
 * serve then waits for the whole form.
 */
export async function paramsBeforeFile<P extends object>(
  type: new () => P,
  before: Record<string, unknown>,
  required: readonly string[],
): Promise<P | undefined> {
  return cameBeforeFile(before, required) ? validateParams(type, before) : undefined;
}
