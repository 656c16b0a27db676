/** Imported first by the suites reused here: their Stacks run the two services from their images, as containers. */
process.env['CONTEXT_QA_LAUNCH'] = 'container';
