using System.Data;
using DbUp.Engine;
using DbUp.Engine.Transactions;

namespace TrainingService.Storage.Migrations;

/// <summary>
/// DbUp's journal, first filled from <c>schema_version</c>, the table in which the releases before
/// DbUp recorded the versions they applied: a database they made has every script of those versions
/// applied already, and must not run them again. When the journal is empty and
/// <c>schema_version</c> lists versions, the scripts of those versions are recorded as applied,
/// once, inside the upgrade's transaction (so under its lock, and undone with it), before DbUp decides
/// what to run. <c>schema_version</c> itself is left as it was.
/// </summary>
internal sealed class LegacyVersionJournal(
    IJournal journal, Func<IConnectionManager> connections, string legacyJournalExistsSql, IReadOnlyList<MigrationScripts.Script> scripts)
    : IJournal
{
    public string[] GetExecutedScripts()
    {
        var executed = journal.GetExecutedScripts();
        if (executed.Length > 0)
            return executed;
        return connections().ExecuteCommandsWithManagedConnection(commands =>
        {
            var versions = LegacyVersions(commands);
            var applied = scripts.Where(s => versions.Contains(s.Version)).ToList();
            foreach (var script in applied)
                journal.StoreExecutedScript(new SqlScript(script.Name, script.Sql), commands);
            return applied.Select(s => s.Name).ToArray();
        });
    }

    public void StoreExecutedScript(SqlScript script, Func<IDbCommand> dbCommandFactory) =>
        journal.StoreExecutedScript(script, dbCommandFactory);

    public void EnsureTableExistsAndIsLatestVersion(Func<IDbCommand> dbCommandFactory) =>
        journal.EnsureTableExistsAndIsLatestVersion(dbCommandFactory);

    private HashSet<int> LegacyVersions(Func<IDbCommand> commands)
    {
        using (var exists = commands())
        {
            exists.CommandText = legacyJournalExistsSql;
            if (Convert.ToInt64(exists.ExecuteScalar() ?? 0L, System.Globalization.CultureInfo.InvariantCulture) != 1)
                return [];
        }
        using var select = commands();
        select.CommandText = "SELECT version FROM schema_version";
        using var reader = select.ExecuteReader();
        var versions = new HashSet<int>();
        while (reader.Read())
            versions.Add(Convert.ToInt32(reader.GetValue(0), System.Globalization.CultureInfo.InvariantCulture));
        return versions;
    }
}
