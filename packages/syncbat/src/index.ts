export * from './operation-name.js';
