// Prints one plain closing line ("tests: N passed, N failed, N skipped") that CI
// tooling can read regardless of the test runner.
class Summary {
  onRunComplete(_contexts, r) {
    console.log(
      `tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`,
    );
  }
}
module.exports = Summary;
