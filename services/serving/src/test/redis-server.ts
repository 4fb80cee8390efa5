// Moved to @contender/platform/testing (the registry's tests use it too); this re-export keeps
// imports of the old path working until every branch has moved to the new one.
export { startRedisServer, type TestRedisServer } from '@contender/platform/testing';
