import { applyDecorators, HttpCode, Post } from '@nestjs/common';

/** A POST that answers 200 like every ThreadFix operation (Nest's default would be 201). */
export const RestPost = (path?: string) => applyDecorators(Post(path), HttpCode(200));
