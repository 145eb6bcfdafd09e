// The live leaderboard page.
