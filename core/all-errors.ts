/** Loads every part's error table so the registry is complete (ERRORS.md, the sync test). */
import './errors.js';
import '../ca/errors.js';
import '../agent/errors.js';
import '../gateway/errors.js';
import '../master/errors.js';
export { registeredErrors } from './errors.js';
