using TorchSharp;
using TorchSharp.Modules;
using TrainingService.Contracts.Training;
using TrainingService.Models.Training;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace TrainingService.Models.Architectures;

/// <summary>
/// The normalization layer each <see cref="NormalizationKind"/> puts into an architecture. Every
/// layer here has the state-dict entries of its PyTorch counterpart (<c>weight</c>, <c>bias</c>
/// and, for BatchNorm, <c>running_mean</c>, <c>running_var</c>, <c>num_batches_tracked</c>), so
/// checkpoints of every variant load into docs/pytorch/models.py.
/// </summary>
public static class NormalizationLayers
{
    /// <summary>
    /// Groups for <see cref="NormalizationKind.Group"/>, everywhere. Eight divides every channel
    /// count here (32 to 512, and the 128-wide embedding), so no layer degenerates: the narrowest
    /// (32 channels) still has 4 per group, where GroupNorm's usual 32 groups would be
    /// InstanceNorm there.
    /// </summary>
    public const int GroupCount = 8;

    /// <summary>Feature maps <c>[N, C, H, W]</c>: BatchNorm2d(C), GroupNorm(1, C), GroupNorm(8, C), or nothing (null).</summary>
    /// <remarks>
    /// <c>layer</c> is GroupNorm(1, C), not LayerNorm([C, H, W]): both normalize each sample over
    /// C × H × W, but GroupNorm's affine is per channel, as BatchNorm's is, and does not depend on
    /// the image size.
    /// </remarks>
    public static Module<Tensor, Tensor>? ForFeatureMaps(NormalizationKind kind, long channels) => kind switch
    {
        NormalizationKind.Batch => BatchNorm2d(channels),
        NormalizationKind.Layer => new ChannelGroupNorm(1, channels),
        NormalizationKind.Group => new ChannelGroupNorm(GroupCount, channels),
        NormalizationKind.None => null,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown normalization."),
    };

    /// <summary>Like <see cref="ForFeatureMaps"/>, with <c>Identity</c> (no state-dict entries) for none: for places that always hold a module, such as ResNet's <c>bn1</c>.</summary>
    public static Module<Tensor, Tensor> ForFeatureMapsOrIdentity(NormalizationKind kind, long channels) =>
        ForFeatureMaps(kind, channels) ?? Identity();

    /// <summary>Token sequences <c>[B, T, E]</c>: <see cref="TokenBatchNorm"/>, LayerNorm(E), <see cref="TokenGroupNorm"/>, or Identity.</summary>
    public static Module<Tensor, Tensor> ForTokens(NormalizationKind kind, long embedDim) => kind switch
    {
        NormalizationKind.Batch => new TokenBatchNorm(embedDim),
        NormalizationKind.Layer => LayerNorm(embedDim),
        NormalizationKind.Group => new TokenGroupNorm(GroupCount, embedDim),
        NormalizationKind.None => Identity(),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown normalization."),
    };
}

/// <summary>
/// BatchNorm for token sequences <c>[B, T, E]</c>: each of the E embedding channels is normalized
/// over the batch and the tokens (B × T values), with running statistics for evaluation. It is
/// BatchNorm1d applied to <c>x.transpose(1, 2)</c>, and has BatchNorm1d's state-dict entries.
/// </summary>
public sealed class TokenBatchNorm : BatchNorm
{
    public TokenBatchNorm(long embedDim)
        : base(embedDim, eps: 1e-5, momentum: 0.1, affine: true, track_running_stats: true, device: null, dtype: null, name: nameof(TokenBatchNorm))
    {
    }

    protected override void ValidateInputDimensions(Tensor input)
    {
        if (input.ndim != 3)
            throw new ArgumentException($"Expected a [batch, channels, tokens] input; got {input.ndim} dimensions.");
    }

    public override Tensor forward(Tensor tokens)
    {
        using var scope = NewDisposeScope();
        return base.forward(tokens.transpose(1, 2)).transpose(1, 2).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// PyTorch's <c>nn.GroupNorm(groups, channels)</c> for <c>[N, C, *]</c> inputs: each sample's
/// channels split into <c>groups</c> groups, each normalized over its channels and positions,
/// then a per-channel affine starting at weight 1, bias 0. Written here because TorchSharp
/// 0.107's GroupNorm leaves its affine parameters uninitialised (its outputs are NaN).
/// </summary>
public class ChannelGroupNorm : Module<Tensor, Tensor>
{
    private readonly long groups;
    private readonly Parameter weight;
    private readonly Parameter bias;

    public ChannelGroupNorm(long groups, long channels) : base(nameof(ChannelGroupNorm))
    {
        if (groups < 1 || channels % groups != 0)
            throw new ArgumentException($"{channels} channels cannot be split into {groups} equal groups.", nameof(groups));
        this.groups = groups;
        Channels = channels;
        weight = Parameter(ones(channels));
        bias = Parameter(zeros(channels));
        RegisterComponents();
    }

    public long Channels { get; }

    public override Tensor forward(Tensor input) => functional.group_norm(input, groups, weight, bias, eps: 1e-5);
}

/// <summary>
/// GroupNorm for token sequences <c>[B, T, E]</c>: each token on its own, its E channels split
/// into <c>groups</c> groups normalized separately, then a per-channel affine. It is GroupNorm
/// applied to the tokens as a batch of B × T samples, and has GroupNorm's state-dict entries.
/// </summary>
public sealed class TokenGroupNorm(long groups, long channels) : ChannelGroupNorm(groups, channels)
{
    public override Tensor forward(Tensor tokens)
    {
        using var scope = NewDisposeScope();
        return base.forward(tokens.reshape(-1, Channels)).reshape(tokens.shape).MoveToOuterDisposeScope();
    }
}
