/**
 * Known violations in the areas other issue-13 branches are reworking (tasks/, imports/, events/,
 * nats/, rest/, background/, the upload room in scans/): `npm run lint` reports these files as
 * warnings, everything else as errors. Empty the lists as the seams close, then delete this file.
 */
module.exports = {
  /** .dependency-cruiser.cjs: files importing against the module graph. */
  moduleGraph: [],
  /** .dependency-cruiser.cjs: folder steps of folder cycles the files above make ([from, to]). */
  folderCycles: [],
  /** scripts/check-sql-homes.mjs: files holding SQL outside a repository. */
  sqlHomes: [],
  /** eslint.config.mjs: files flagged by the type-aware rules or max-lines. */
  lint: [
    'src/scans/formats/parsers/parsers.spec.ts', // max-lines (548)
    'src/scans/formats/safe-xml-reader.ts', // no-unnecessary-type-assertion
  ],
};
