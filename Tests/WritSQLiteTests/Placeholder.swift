import Testing

@Test func sqliteAdapterBuilds() {}
