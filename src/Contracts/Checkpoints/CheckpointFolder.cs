using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using TrainingService.Contracts.Architectures;
using TrainingService.Contracts.Training;

namespace TrainingService.Contracts.Checkpoints;

/// <summary>
/// The checkpoints of one training run, one sub-folder per saved epoch (<c>epoch-0001</c>, …), each
/// holding the model's weights (<c>model.safetensors</c>, PyTorch key names), the optimizer's state
/// (<c>optimizer.bin</c>, TorchSharp's own format) and a <c>manifest.json</c> with sizes and
/// SHA-256s. <c>final.json</c> and <c>best.json</c> point at epochs.
/// </summary>
/// <remarks>
/// <para>
/// Writes are crash-safe: a checkpoint is assembled and flushed to disk in a hidden staging folder
/// (<c>.epoch-0003.tmp-…</c>), manifest last, then renamed into place. A folder counts as a
/// checkpoint only when it has its label for a name and holds a manifest, so readers never see a
/// half-written one. Replacing an existing label swaps the folders atomically where Linux allows,
/// otherwise through a <c>.trash-…</c> rename; either way a crash leaves the old or the new
/// checkpoint intact, and <see cref="CleanUpIncompleteWrites"/> (run by every <see cref="SaveFiles"/>)
/// restores and tidies whatever a crash left.
/// </para>
/// <para>
/// One writer per store: <see cref="SaveFiles"/>, <see cref="SetAlias"/> and
/// <see cref="CleanUpIncompleteWrites"/> are serialised within this instance, but two processes
/// (or two instances) writing the same folder would delete each other's staging folders.
/// Reads may run alongside a writer.
/// </para>
/// </remarks>
public class CheckpointFolder(string directory)
{
    public const string ModelFileName = "model.safetensors";
    public const string OptimizerFileName = "optimizer.bin";
    public const string ManifestFileName = "manifest.json";
    public const string FinalAlias = "final";
    public const string BestAlias = "best";

    /// <summary>Labels have four digits, which also keeps them sorting by epoch in a file listing.</summary>
    public const int MaxEpoch = 9999;

    private const string LabelPrefix = "epoch-";
    private const string StagingMarker = ".tmp-";
    private const string TrashMarker = ".trash-";
    private const int MaxManifestBytes = 1024 * 1024;
    private const int MaxAliasBytes = 4096;
    private const int FileBufferBytes = 1 << 16;

    private static readonly string[] Aliases = [FinalAlias, BestAlias];
    private static readonly string[] KnownFiles = [ModelFileName, OptimizerFileName];

    private readonly Lock writeLock = new();

    /// <summary>The run's folder, as an absolute path.</summary>
    public string StoreDirectory { get; } = Path.GetFullPath(directory);

    /// <summary>
    /// Whether a replacement may use Linux's atomic directory exchange. Only tests turn it off, to
    /// exercise the two-rename path that other platforms and file systems take.
    /// </summary>
    internal bool UseAtomicExchange { get; init; } = true;

    /// <summary>The folder name of an epoch's checkpoint: <c>epoch-0003</c>.</summary>
    public static string LabelFor(int epoch)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(epoch, MaxEpoch);
        return LabelPrefix + epoch.ToString("D4", CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// Saves <paramref name="contents"/> (each file written by its delegate) as the checkpoint of
    /// <paramref name="epoch"/>, with a manifest of their sizes and SHA-256s, replacing any earlier
    /// checkpoint of that epoch (a re-run epoch after a resume). <paramref name="midEpoch"/> marks a
    /// checkpoint taken part-way through the epoch.
    /// </summary>
    protected CheckpointManifest SaveFiles(
        int epoch,
        string architecture,
        Hyperparameters hyperparameters,
        EpochMetrics? metrics,
        EpochPosition? midEpoch,
        IReadOnlyList<(string Name, Action<Stream> Write)> contents,
        EpochTraining? training = null)
    {
        var label = LabelFor(epoch);
        ArgumentException.ThrowIfNullOrWhiteSpace(architecture);
        ArgumentNullException.ThrowIfNull(hyperparameters);

        lock (writeLock)
        {
            if (!Directory.Exists(StoreDirectory))
            {
                Directory.CreateDirectory(StoreDirectory);
                // The run's folder itself is a new entry in its parent, which must reach the disk too.
                if (Path.GetDirectoryName(StoreDirectory) is { } parent)
                    DurableFileSystem.FlushDirectory(parent);
            }
            CleanUpIncompleteWritesLocked();

            var staging = Path.Combine(StoreDirectory, $".{label}{StagingMarker}{Guid.NewGuid():N}");
            Directory.CreateDirectory(staging);
            try
            {
                var files = contents.Select(c => WriteDurably(staging, c.Name, c.Write)).ToList();

                var manifest = new CheckpointManifest
                {
                    FormatVersion = CheckpointManifest.CurrentFormatVersion,
                    Architecture = architecture,
                    Hyperparameters = hyperparameters,
                    Epoch = epoch,
                    Metrics = metrics,
                    Training = training,
                    MidEpoch = midEpoch,
                    Files = files,
                    CreatedAt = DateTimeOffset.UtcNow,
                };
                // Last, and only once the files it describes are on disk: its presence means "complete".
                WriteDurably(staging, ManifestFileName, stream => JsonSerializer.Serialize(stream, manifest, CheckpointJson.Options));
                DurableFileSystem.FlushDirectory(staging);

                MoveIntoPlace(staging, label);
                return manifest;
            }
            catch
            {
                TryDeleteDirectory(staging);
                throw;
            }
        }
    }

    /// <summary>
    /// Removes what interrupted writes left behind: staging and trash folders, half-written alias
    /// files. Where a crash during a replacement left no folder under a label, first puts back
    /// the newest intact copy (new before old), so a crash never loses the epoch. Call it when
    /// opening a run's store after a restart; <see cref="SaveFiles"/> calls it too.
    /// </summary>
    public void CleanUpIncompleteWrites()
    {
        lock (writeLock)
            CleanUpIncompleteWritesLocked();
    }

    /// <summary>The complete checkpoints, by epoch ascending. Folders without a manifest, and hidden staging and trash folders, are not checkpoints.</summary>
    public IReadOnlyList<CheckpointManifest> List()
    {
        if (!Directory.Exists(StoreDirectory))
            return [];

        var manifests = new List<CheckpointManifest>();
        foreach (var folder in Directory.EnumerateDirectories(StoreDirectory))
        {
            var label = Path.GetFileName(folder);
            if (!TryParseLabel(label, out _) || !File.Exists(Path.Combine(folder, ManifestFileName)))
                continue;
            try
            {
                manifests.Add(ReadManifest(folder, label));
            }
            catch (CheckpointException)
            {
                // A damaged manifest cannot be loaded, so it is not listed; Resolve or Load on its
                // label reports what is wrong with it.
            }
        }
        return [.. manifests.OrderBy(m => m.Epoch)];
    }

    /// <summary>Whether <paramref name="manifest"/>'s files are all there with the sizes and SHA-256s it lists.</summary>
    public bool IsIntact(CheckpointManifest manifest) =>
        TryReadIntact(Path.Combine(StoreDirectory, manifest.Label), manifest.Label) is not null;

    /// <summary>The complete checkpoint with the highest epoch, or null when there is none.</summary>
    public CheckpointManifest? Latest() => List().LastOrDefault();

    /// <summary>
    /// Points <paramref name="alias"/> (<c>final</c> or <c>best</c>) at the checkpoint of
    /// <paramref name="epoch"/>, which must exist and be complete. The pointer file is replaced
    /// atomically.
    /// </summary>
    public void SetAlias(string alias, int epoch)
    {
        ArgumentNullException.ThrowIfNull(alias);
        if (!Aliases.Contains(alias, StringComparer.Ordinal))
            throw new ArgumentException($"Unknown alias '{Shorten(alias)}'; expected {FinalAlias} or {BestAlias}.", nameof(alias));
        var label = LabelFor(epoch);

        lock (writeLock)
        {
            if (Resolve(label) is null)
                throw new CheckpointException($"Cannot point {alias} at {label}: there is no complete checkpoint {label} in {StoreDirectory}.");

            var temporary = Path.Combine(StoreDirectory, $".{alias}.json{StagingMarker}{Guid.NewGuid():N}");
            try
            {
                WriteDurably(StoreDirectory, Path.GetFileName(temporary), stream =>
                    JsonSerializer.Serialize(stream, new AliasPointer(epoch), CheckpointJson.Options));
                File.Move(temporary, AliasPath(alias), overwrite: true);
            }
            catch
            {
                TryDeleteFile(temporary);
                throw;
            }
            DurableFileSystem.FlushDirectory(StoreDirectory);
        }
    }

    /// <summary>
    /// The manifest of the checkpoint that <paramref name="reference"/> names — <c>final</c>,
    /// <c>best</c>, an epoch number (<c>3</c>) or a label (<c>epoch-0003</c>) — or null when there
    /// is no such complete checkpoint (or the alias is unset). Throws <see cref="ArgumentException"/>
    /// for anything else, so no path is ever built from an arbitrary string, and
    /// <see cref="CheckpointException"/> when the manifest or alias file is damaged.
    /// </summary>
    public CheckpointManifest? Resolve(string reference)
    {
        var label = ResolveLabel(reference);
        if (label is null)
            return null;
        var folder = Path.Combine(StoreDirectory, label);
        return File.Exists(Path.Combine(folder, ManifestFileName)) ? ReadManifest(folder, label) : null;
    }

    /// <summary>
    /// Opens the files of the checkpoint that <paramref name="reference"/> names (see <see cref="Resolve"/>)
    /// for loading, after checking the manifest (format version, architecture and, when
    /// <paramref name="expectedNormalization"/> is given, normalization) and each file's size and
    /// SHA-256; any failure throws <see cref="CheckpointException"/> naming the checkpoint and the
    /// problem. Each file is opened once and read through that handle for hashing and loading alike,
    /// so what is loaded is what was verified. The optimizer's state is opened only when asked for.
    /// </summary>
    /// <remarks>
    /// The normalization must be checked from the manifest: layer and group variants have the same
    /// state-dict keys and shapes, so a check of the weights alone would let one load into the other.
    /// </remarks>
    protected VerifiedCheckpoint OpenForLoading(
        string reference, string expectedArchitecture, bool withOptimizer, NormalizationKind? expectedNormalization)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(expectedArchitecture);
        var label = ResolveLabel(reference)
            ?? throw new CheckpointException($"Alias {reference} is not set in {StoreDirectory}.");
        var folder = Path.Combine(StoreDirectory, label);
        if (!File.Exists(Path.Combine(folder, ManifestFileName)))
            throw new CheckpointException($"There is no complete checkpoint {label} in {StoreDirectory}.");

        var manifest = ReadManifest(folder, label);
        if (!string.Equals(manifest.Architecture, expectedArchitecture, StringComparison.Ordinal))
            throw new CheckpointException(
                $"{label}: architecture {manifest.Architecture} does not match {expectedArchitecture}, the architecture being loaded.");
        if (expectedNormalization is { } expected && NormalizationOf(manifest) is { } saved && saved != expected)
            throw new CheckpointException(
                $"{label}: holds a {manifest.Architecture} with {Lower(saved)} normalization; the model being loaded has {Lower(expected)} normalization.");

        var modelEntry = manifest.Files.FirstOrDefault(f => f.Name == ModelFileName)
            ?? throw new CheckpointException($"{label}: the manifest lists no {ModelFileName}.");
        var optimizerEntry = manifest.Files.FirstOrDefault(f => f.Name == OptimizerFileName);
        if (withOptimizer && optimizerEntry is null)
            throw new CheckpointException($"{label}: holds no optimizer state ({OptimizerFileName}) to resume from.");

        var modelStream = OpenVerified(folder, label, modelEntry);
        try
        {
            var optimizerStream = withOptimizer ? OpenVerified(folder, label, optimizerEntry!) : null;
            return new VerifiedCheckpoint(label, manifest, modelStream, optimizerStream);
        }
        catch
        {
            modelStream.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The normalization a checkpoint's model was built with. Manifests written before
    /// normalization was a hyperparameter name none, and those models had their architecture's
    /// default. Null for an architecture this build does not know.
    /// </summary>
    public static NormalizationKind? NormalizationOf(CheckpointManifest manifest) =>
        manifest.Hyperparameters.Normalization ?? ArchitectureCatalog.Find(manifest.Architecture)?.DefaultNormalization;

    private static string Lower(NormalizationKind kind) => kind.ToString().ToLowerInvariant();

    private void MoveIntoPlace(string staging, string label)
    {
        var target = Path.Combine(StoreDirectory, label);
        if (!Directory.Exists(target))
        {
            Directory.Move(staging, target);
            DurableFileSystem.FlushDirectory(StoreDirectory);
            return;
        }

        // Replacing: one atomic exchange where the platform has it; the staging name then holds
        // the old checkpoint, which is deleted (or, after a crash, cleaned up, since the label exists).
        if (UseAtomicExchange && DurableFileSystem.TryExchange(staging, target))
        {
            DurableFileSystem.FlushDirectory(StoreDirectory);
            TryDeleteDirectory(staging);
            return;
        }

        // Otherwise two renames. Between them no folder carries the label; a crash there leaves
        // both intact copies, and CleanUpIncompleteWrites moves the new one into place.
        var trash = Path.Combine(StoreDirectory, $".{label}{TrashMarker}{Guid.NewGuid():N}");
        Directory.Move(target, trash);
        try
        {
            Directory.Move(staging, target);
        }
        catch
        {
            Directory.Move(trash, target);
            throw;
        }
        DurableFileSystem.FlushDirectory(StoreDirectory);
        TryDeleteDirectory(trash);
    }

    private void CleanUpIncompleteWritesLocked()
    {
        if (!Directory.Exists(StoreDirectory))
            return;

        var leftovers = Directory.EnumerateDirectories(StoreDirectory, ".*")
            .Select(path => (Path: path, Parsed: ParseLeftoverFolder(Path.GetFileName(path))))
            .Where(x => x.Parsed is not null)
            .GroupBy(x => x.Parsed!.Value.Label, x => (x.Path, x.Parsed!.Value.IsStaging));

        foreach (var group in leftovers)
        {
            var label = group.Key;
            var target = Path.Combine(StoreDirectory, label);
            string? restored = null;
            if (!Directory.Exists(target))
            {
                restored = group
                    .Select(x => (x.Path, x.IsStaging, Manifest: TryReadIntact(x.Path, label)))
                    .Where(x => x.Manifest is not null)
                    .OrderByDescending(x => x.IsStaging)
                    .ThenByDescending(x => x.Manifest!.CreatedAt)
                    .Select(x => x.Path)
                    .FirstOrDefault();
                if (restored is not null)
                {
                    Directory.Move(restored, target);
                    DurableFileSystem.FlushDirectory(StoreDirectory);
                }
            }
            foreach (var (path, _) in group.Where(x => x.Path != restored))
                TryDeleteDirectory(path);
        }

        foreach (var file in Directory.EnumerateFiles(StoreDirectory, ".*"))
        {
            if (IsAliasTemporary(Path.GetFileName(file)))
                TryDeleteFile(file);
        }
    }

    /// <summary>The manifest of a folder whose files all match it, or null.</summary>
    private static CheckpointManifest? TryReadIntact(string folder, string label)
    {
        try
        {
            var manifest = ReadManifest(folder, label);
            foreach (var file in manifest.Files)
                OpenVerified(folder, label, file).Dispose();
            return manifest;
        }
        catch (CheckpointException)
        {
            return null;
        }
    }

    private string? ResolveLabel(string reference)
    {
        ArgumentNullException.ThrowIfNull(reference);
        if (Aliases.Contains(reference, StringComparer.Ordinal))
            return ReadAlias(reference);
        if (TryParseEpochNumber(reference, out var epoch) || TryParseLabel(reference, out epoch))
            return LabelFor(epoch);
        throw new ArgumentException(
            $"'{Shorten(reference)}' is not a checkpoint reference; expected {FinalAlias}, {BestAlias}, an epoch number (3) or a label (epoch-0003).",
            nameof(reference));
    }

    private string? ReadAlias(string alias)
    {
        var path = AliasPath(alias);
        if (!File.Exists(path))
            return null;
        try
        {
            var bytes = ReadSmallFile(path, MaxAliasBytes);
            var pointer = JsonSerializer.Deserialize<AliasPointer>(bytes, CheckpointJson.Options)
                ?? throw new JsonException("null");
            if (pointer.Epoch is < 0 or > MaxEpoch)
                throw new JsonException($"epoch {pointer.Epoch} is out of range");
            return LabelFor(pointer.Epoch);
        }
        catch (Exception e) when (e is JsonException or IOException or UnauthorizedAccessException)
        {
            throw new CheckpointException($"Alias file {alias}.json in {StoreDirectory} is damaged: {e.Message}", e);
        }
    }

    private static CheckpointManifest ReadManifest(string folder, string label)
    {
        var name = $"{label}/{ManifestFileName}";
        if (!TryParseLabel(label, out var epoch))
            throw new ArgumentException($"'{label}' is not a checkpoint label.", nameof(label));

        byte[] bytes;
        try
        {
            bytes = ReadSmallFile(Path.Combine(folder, ManifestFileName), MaxManifestBytes);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CheckpointException($"{name}: cannot be read: {e.Message}", e);
        }

        // The version first: a later format need not deserialise into this one's shape, and
        // "unsupported version" is the useful message then.
        int version;
        try
        {
            using var document = JsonDocument.Parse(bytes);
            version = document.RootElement.GetProperty("formatVersion").GetInt32();
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new CheckpointException($"{name}: damaged, no readable formatVersion: {e.Message}", e);
        }
        if (version != CheckpointManifest.CurrentFormatVersion)
            throw new CheckpointException($"{name}: format version {version} is not supported; this build reads version {CheckpointManifest.CurrentFormatVersion}.");

        CheckpointManifest manifest;
        try
        {
            manifest = JsonSerializer.Deserialize<CheckpointManifest>(bytes, CheckpointJson.Options)
                ?? throw new JsonException("the manifest is null");
        }
        catch (JsonException e)
        {
            throw new CheckpointException($"{name}: damaged: {e.Message}", e);
        }

        if (manifest.Epoch != epoch)
            throw new CheckpointException($"{name}: says epoch {manifest.Epoch}, but the folder is {label}.");
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var file in manifest.Files)
        {
            // File names in the manifest are never used to build paths unless they are ours.
            if (!KnownFiles.Contains(file.Name, StringComparer.Ordinal) || !seen.Add(file.Name))
                throw new CheckpointException($"{name}: lists an unexpected or repeated file '{Shorten(file.Name)}'.");
            if (file.SizeBytes < 0 || !IsSha256Hex(file.Sha256))
                throw new CheckpointException($"{name}: the entry for {file.Name} has an invalid size or SHA-256.");
        }
        return manifest;
    }

    /// <summary>Opens a checkpoint file after checking its size and SHA-256 against the manifest; the stream is at position 0.</summary>
    private static FileStream OpenVerified(string folder, string label, CheckpointFile entry)
    {
        var name = $"{label}/{entry.Name}";
        FileStream stream;
        try
        {
            stream = new FileStream(Path.Combine(folder, entry.Name), FileMode.Open, FileAccess.Read, FileShare.Read, FileBufferBytes);
        }
        catch (FileNotFoundException e)
        {
            throw new CheckpointException($"{name}: missing.", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CheckpointException($"{name}: cannot be opened: {e.Message}", e);
        }

        try
        {
            var length = stream.Length;
            if (length < entry.SizeBytes)
                throw new CheckpointException($"{name}: truncated: {length} bytes on disk, the manifest says {entry.SizeBytes}.");
            if (length > entry.SizeBytes)
                throw new CheckpointException($"{name}: size mismatch: {length} bytes on disk, the manifest says {entry.SizeBytes}.");
            var hash = Convert.ToHexStringLower(SHA256.HashData(stream));
            if (!string.Equals(hash, entry.Sha256, StringComparison.Ordinal))
                throw new CheckpointException($"{name}: hash mismatch: SHA-256 is {hash}, the manifest says {entry.Sha256}.");
            stream.Position = 0;
            return stream;
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    /// <summary>Creates a file, fills it, flushes it to disk, and returns its size and SHA-256 as read back.</summary>
    private static CheckpointFile WriteDurably(string folder, string name, Action<Stream> write)
    {
        using var stream = new FileStream(Path.Combine(folder, name), FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, FileBufferBytes);
        write(stream);
        stream.Flush(flushToDisk: true);
        stream.Position = 0;
        return new CheckpointFile(name, stream.Length, Convert.ToHexStringLower(SHA256.HashData(stream)));
    }

    private static byte[] ReadSmallFile(string path, int maxBytes)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        if (stream.Length > maxBytes)
            throw new IOException($"{Path.GetFileName(path)} is {stream.Length} bytes, more than the {maxBytes} such a file can be.");
        var bytes = new byte[stream.Length];
        stream.ReadExactly(bytes);
        return bytes;
    }

    private string AliasPath(string alias) => Path.Combine(StoreDirectory, alias + ".json");

    /// <summary>Exactly <c>epoch-</c> and four ASCII digits.</summary>
    private static bool TryParseLabel(string value, out int epoch)
    {
        epoch = 0;
        return value.Length == LabelPrefix.Length + 4
            && value.StartsWith(LabelPrefix, StringComparison.Ordinal)
            && TryParseEpochNumber(value[LabelPrefix.Length..], out epoch);
    }

    /// <summary>One to four ASCII digits; no sign, spaces or other scripts' digits, which int.Parse would accept in places.</summary>
    private static bool TryParseEpochNumber(string value, out int epoch)
    {
        epoch = 0;
        if (value.Length is < 1 or > 4 || !value.All(char.IsAsciiDigit))
            return false;
        epoch = int.Parse(value, NumberStyles.None, CultureInfo.InvariantCulture);
        return true;
    }

    /// <summary>Parses <c>.epoch-0003.tmp-&lt;guid&gt;</c> and <c>.epoch-0003.trash-&lt;guid&gt;</c>; anything else is not ours to touch.</summary>
    private static (string Label, bool IsStaging)? ParseLeftoverFolder(string name)
    {
        foreach (var (marker, isStaging) in new[] { (StagingMarker, true), (TrashMarker, false) })
        {
            var at = name.IndexOf(marker, StringComparison.Ordinal);
            if (at > 1 && name[0] == '.' && TryParseLabel(name[1..at], out _) && IsGuidN(name[(at + marker.Length)..]))
                return (name[1..at], isStaging);
        }
        return null;
    }

    private static bool IsAliasTemporary(string name) =>
        Aliases.Any(alias =>
        {
            var prefix = $".{alias}.json{StagingMarker}";
            return name.StartsWith(prefix, StringComparison.Ordinal) && IsGuidN(name[prefix.Length..]);
        });

    private static bool IsGuidN(string value) => value.Length == 32 && value.All(char.IsAsciiHexDigitLower);

    private static bool IsSha256Hex(string? value) => value is { Length: 64 } && value.All(char.IsAsciiHexDigitLower);

    private static string Shorten(string value) => value.Length <= 40 ? value : value[..40] + "…";

    // Leftovers are retried on the next clean-up, so failing to delete one must not fail the write that made it.
    private static void TryDeleteDirectory(string path)
    {
        try
        {
            Directory.Delete(path, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }

    private static void TryDeleteFile(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }

    private sealed record AliasPointer(int Epoch);
}

/// <summary>
/// A checkpoint's files, opened and verified against its manifest by <see cref="CheckpointFolder"/>;
/// the streams are at position 0. Disposing closes them.
/// </summary>
public sealed record VerifiedCheckpoint(string Label, CheckpointManifest Manifest, FileStream Model, FileStream? Optimizer) : IDisposable
{
    public void Dispose()
    {
        Model.Dispose();
        Optimizer?.Dispose();
    }
}
