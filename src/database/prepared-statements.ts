/** Moved to sql/ (a room the domain modules may import: database/ lists their entities). */
export { queryPrepared, preparedStatementNames } from '../sql/prepared-statements';
