using System.Text;
using TorchSharp.Modules;
using TorchSharp.PyBridge;
using TrainingService.Contracts.Checkpoints;
using TrainingService.Contracts.Training;
using static TorchSharp.torch;

namespace TrainingService.Models.Checkpoints;

/// <summary>
/// A run's <see cref="CheckpointFolder"/> with the tensors in it: saves a model's weights
/// (<c>model.safetensors</c>, PyTorch key names) and its optimizer's state (<c>optimizer.bin</c>,
/// TorchSharp's own format) as a checkpoint, and loads them back after checking them. The folder's
/// layout, crash safety and verification are <see cref="CheckpointFolder"/>'s, which the API reads
/// without loading libtorch.
/// </summary>
public sealed class CheckpointStore(string directory) : CheckpointFolder(directory)
{
    /// <summary>
    /// Saves the model (and the optimizer, when given) as the checkpoint of <paramref name="epoch"/>,
    /// replacing any earlier checkpoint of that epoch (a re-run epoch after a resume). The model
    /// and optimizer are left as they were, on their devices. <paramref name="midEpoch"/> marks a
    /// checkpoint taken part-way through the epoch; <paramref name="training"/> says which attempt
    /// trained a completed epoch, and how many steps (see <see cref="CheckpointManifest.Training"/>).
    /// </summary>
    public CheckpointManifest Save(
        int epoch,
        string architecture,
        Hyperparameters hyperparameters,
        EpochMetrics? metrics,
        nn.Module model,
        OptimizerHelper? optimizer,
        EpochPosition? midEpoch = null,
        EpochTraining? training = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        // PyBridge 1.4.4 copies each non-CPU tensor to a temporary CPU tensor to write it, so the
        // module itself stays where it is (unlike TorchSharp's old Module.save, which called cpu()
        // on the module).
        var files = new List<(string, Action<Stream>)> { (ModelFileName, stream => model.save_safetensors(stream, leaveOpen: true)) };
        if (optimizer is not null)
        {
            files.Add((OptimizerFileName, stream =>
            {
                using var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
                optimizer.save_state_dict(writer);
            }));
        }
        return SaveFiles(epoch, architecture, hyperparameters, metrics, midEpoch, files, training);
    }

    /// <summary>
    /// Loads the checkpoint that <paramref name="reference"/> names (see <see cref="CheckpointFolder.Resolve"/>)
    /// into <paramref name="model"/>, on the model's device, and into <paramref name="optimizer"/>
    /// when given. Before anything is changed it checks the manifest and files
    /// (<see cref="CheckpointFolder.OpenForLoading"/>) and the safetensors header against the model;
    /// any failure throws <see cref="CheckpointException"/> naming the checkpoint and the problem.
    /// </summary>
    /// <remarks>
    /// The optimizer's format can only be checked as it is read; it is loaded before the model so
    /// that, if it turns out unreadable, the model is still untouched. The optimizer itself may
    /// then be partly overwritten, and should be discarded.
    /// </remarks>
    public LoadedCheckpoint Load(
        string reference, string expectedArchitecture, nn.Module model, OptimizerHelper? optimizer,
        NormalizationKind? expectedNormalization = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        using var checkpoint = OpenForLoading(reference, expectedArchitecture, optimizer is not null, expectedNormalization);
        var label = checkpoint.Label;
        SafetensorsValidator.Validate(checkpoint.Model, $"{label}/{ModelFileName}", model);

        if (optimizer is not null)
            LoadOptimizerState(checkpoint.Optimizer!, label, optimizer);

        try
        {
            checkpoint.Model.Position = 0;
            // Strict: the key sets must match (already checked). PyBridge reads into CPU tensors
            // and copy_()s them into the existing parameters, which keep their device and identity.
            model.load_safetensors(checkpoint.Model, strict: true, leaveOpen: true);
        }
        catch (Exception e)
        {
            throw new CheckpointException($"{label}/{ModelFileName}: loading into the model failed: {e.Message}", e);
        }

        return new LoadedCheckpoint(label, checkpoint.Manifest, optimizer is not null);
    }

    private static void LoadOptimizerState(FileStream stream, string label, OptimizerHelper optimizer)
    {
        try
        {
            stream.Position = 0;
            using var reader = new BinaryReader(stream, Encoding.UTF8, leaveOpen: true);
            optimizer.load_state_dict(reader);
        }
        catch (Exception e)
        {
            // TorchSharp reports a different optimizer type, parameter count or tensor shape with
            // InvalidDataException or ArgumentException, and a short file with EndOfStreamException.
            throw new CheckpointException($"{label}/{OptimizerFileName}: cannot be loaded into this {optimizer.GetType().Name} optimizer: {e.Message}", e);
        }
        // Left-over bytes mean the state was written for a different set of parameters or options.
        if (stream.Position != stream.Length)
            throw new CheckpointException($"{label}/{OptimizerFileName}: {stream.Length - stream.Position} bytes left unread; it does not match this optimizer.");
    }

}

/// <summary>The result of <see cref="CheckpointStore.Load"/>: which checkpoint was loaded, and its manifest.</summary>
public sealed record LoadedCheckpoint(string Label, CheckpointManifest Manifest, bool OptimizerStateLoaded);
