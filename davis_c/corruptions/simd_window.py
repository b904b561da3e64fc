"""The mean-shift window pass as explicit SIMD: a numba intrinsic that emits LLVM vector IR.

`window_sums(planes, minx, n, miny, rows, c0, c1, c2, isr2)` returns what OpenCV's window loop in
`pyrMeanShiftFiltering` computes for the `rows` x `n` window at (`minx`, `miny`) of a 3 x H x Wp uint16 plane
array holding 0..255: the count of pixels t with |t - c|^2 <= isr2, their colour sums and their x and y sums.

The window is swept in column blocks of `SIMD_LANES` pixels. Each lane keeps its own 16-bit count, colour
sums and row-offset sum across all rows of the block, so a block costs one horizontal reduction instead of
one per row (which numba's auto-vectorised loops cannot avoid). All arithmetic is exact integer arithmetic:

* squares: `(t - c)^2 <= 255^2` is exact in 16 bits read as unsigned; the three are added with unsigned
  saturation, so a sum above 65535 reads 65535, and the test `sum < isr2 + 1` is exact whenever
  `isr2 + 1 <= 65535` (the caller checks `isr2 < MAX_ISR2`);
* lanes right of the window get the bound 0, which no sum is below, so no separate lane mask is needed;
* per-lane sums: at most `rows * 255` (the caller checks `rows <= MAX_ROWS`), widened to 32 bits to reduce.

LLVM lowers the vector IR for the machine it compiles on (AVX-512, AVX2, SSE or NEON), so this is portable;
`tests/test_meanshift.py` checks equality with OpenCV.
"""

from __future__ import annotations

import llvmlite.binding as llvm
import numba
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

I16, I32, I64 = ir.IntType(16), ir.IntType(32), ir.IntType(64)
MAX_ROWS = 257
"""Longest window column the 16-bit lane sums hold exactly (257 * 255 < 2^16)."""
MAX_ISR2 = 65535
"""Colour radii^2 below this keep `isr2 + 1` in 16 unsigned bits."""
MAX_COLS = 32768
"""Widest window whose lane indices fit the 16-bit lane arithmetic (with room for one block)."""


def _lanes() -> int:
    """32 lanes where 512-bit integer vectors are native (AVX-512BW), else 16 (measured faster on AVX2).

    Follows numba's target: with NUMBA_CPU_NAME set, only NUMBA_CPU_FEATURES counts, not the host.
    """
    if numba.config.CPU_NAME:
        return 32 if "+avx512bw" in (numba.config.CPU_FEATURES or "") else 16
    return 32 if llvm.get_host_cpu_features().get("avx512bw", False) else 16


SIMD_LANES = _lanes()
"""Pixels per vector block; the plane array needs at least this much padding on the right."""


def _splat(builder: ir.IRBuilder, value: ir.Value, vt: ir.VectorType) -> ir.Value:
    """Broadcast a scalar to every lane of `vt`."""
    vec = builder.insert_element(ir.Constant(vt, ir.Undefined), value, I32(0))
    mask = ir.Constant(ir.VectorType(I32, vt.count), [0] * vt.count)
    return builder.shuffle_vector(vec, ir.Constant(vt, ir.Undefined), mask)


def _reduce_add(builder: ir.IRBuilder, vec: ir.Value) -> ir.Value:
    """Sum of the lanes of an <N x i32> vector, as i64."""
    fnty = ir.FunctionType(I32, [vec.type])
    fn = cgutils.get_or_insert_function(builder.module, fnty, f"llvm.vector.reduce.add.v{vec.type.count}i32")
    return builder.sext(builder.call(fn, [vec]), I64)


class _Vectors:
    """The vector types and constants of one lane count."""

    def __init__(self, lanes: int):
        self.v16 = ir.VectorType(I16, lanes)
        self.v32 = ir.VectorType(I32, lanes)
        self.lane16 = ir.Constant(self.v16, [I16(k) for k in range(lanes)])
        self.lane32 = ir.Constant(self.v32, [I32(k) for k in range(lanes)])
        self.zero16 = ir.Constant(self.v16, [I16(0)] * lanes)


def _uadd_sat(builder: ir.IRBuilder, a: ir.Value, b: ir.Value) -> ir.Value:
    """Lane-wise unsigned saturating add of two <N x i16> vectors."""
    fnty = ir.FunctionType(a.type, [a.type, a.type])
    fn = cgutils.get_or_insert_function(builder.module, fnty, f"llvm.uadd.sat.v{a.type.count}i16")
    return builder.call(fn, [a, b])


def _row_step(builder, vt, data, start, plane, colours, bound, yoff, accs) -> None:
    """One window row of one block: colour test of each lane and masked adds into the lane accumulators."""
    pixels = []
    dist = None
    for ch in range(3):
        ptr = builder.gep(data, [builder.add(start, builder.mul(plane, I64(ch)))])
        t = builder.load(builder.bitcast(ptr, vt.v16.as_pointer()), align=2)
        d = builder.sub(t, colours[ch])
        sq = builder.mul(d, d)
        dist = sq if dist is None else _uadd_sat(builder, dist, sq)
        pixels.append(t)
    hit = builder.icmp_unsigned("<", dist, bound)
    adds = [builder.zext(hit, vt.v16)] + [builder.select(hit, t, vt.zero16) for t in pixels]
    adds.append(builder.select(hit, yoff, vt.zero16))
    for acc, add in zip(accs, adds):
        builder.store(builder.add(builder.load(acc), add), acc)


def _block_totals(builder, vt, accs, x0) -> list[ir.Value]:
    """Reduce a block's lane accumulators to (count, s0, s1, s2, sum of x, sum of row offsets)."""
    count = builder.zext(builder.load(accs[0]), vt.v32)
    sums = [count] + [builder.zext(builder.load(a), vt.v32) for a in accs[1:4]]
    xs = builder.add(vt.lane32, _splat(builder, builder.trunc(x0, I32), vt.v32))
    sums.append(builder.mul(count, xs))
    sums.append(builder.zext(builder.load(accs[4]), vt.v32))
    return [_reduce_add(builder, s) for s in sums]


def _codegen(lanes: int):
    vt = _Vectors(lanes)

    def codegen(context, builder, signature, args):
        arr = context.make_array(signature.args[0])(context, builder, args[0])
        minx, n, miny, rows, c0, c1, c2, isr2 = args[1:]
        _, height, width = cgutils.unpack_tuple(builder, arr.shape, 3)
        plane = builder.mul(height, width)
        data = builder.bitcast(arr.data, I16.as_pointer())
        colours = [_splat(builder, builder.trunc(c, I16), vt.v16) for c in (c0, c1, c2)]
        bound = _splat(builder, builder.trunc(builder.add(isr2, I64(1)), I16), vt.v16)
        n_v = _splat(builder, builder.trunc(n, I16), vt.v16)
        totals = [cgutils.alloca_once_value(builder, I64(0)) for _ in range(6)]
        accs = [cgutils.alloca_once(builder, vt.v16) for _ in range(5)]
        blocks = builder.udiv(builder.add(n, I64(lanes - 1)), I64(lanes))
        with cgutils.for_range(builder, blocks) as blk:
            off = builder.mul(blk.index, I64(lanes))
            x0 = builder.add(minx, off)
            lane = builder.add(vt.lane16, _splat(builder, builder.trunc(off, I16), vt.v16))
            lane_bound = builder.select(builder.icmp_unsigned("<", lane, n_v), bound, vt.zero16)
            for acc in accs:
                builder.store(vt.zero16, acc)
            with cgutils.for_range(builder, rows) as row:
                start = builder.add(builder.mul(builder.add(miny, row.index), width), x0)
                yoff = _splat(builder, builder.trunc(row.index, I16), vt.v16)
                _row_step(builder, vt, data, start, plane, colours, lane_bound, yoff, accs)
            for tot, part in zip(totals, _block_totals(builder, vt, accs, x0)):
                builder.store(builder.add(builder.load(tot), part), tot)
        out = [builder.load(t) for t in totals]
        out[5] = builder.add(out[5], builder.mul(out[0], miny))
        return context.make_tuple(builder, signature.return_type, out)

    return codegen


def make_window_sums(lanes: int):
    """The window-sum intrinsic for blocks of `lanes` pixels (any power of two; SIMD_LANES is the fast one)."""

    @intrinsic
    def window_sums(typingctx, planes, minx, n, miny, rows, c0, c1, c2, isr2):
        """(count, s0, s1, s2, sx, sy) of the window; scalar arguments int64, `planes` 3 x H x Wp uint16 C."""
        if not (isinstance(planes, types.Array) and planes.dtype == types.uint16 and planes.ndim == 3
                and planes.layout == "C"):
            return None
        i64 = types.int64
        sig = types.UniTuple(i64, 6)(planes, i64, i64, i64, i64, i64, i64, i64, i64)
        return sig, _codegen(lanes)

    return window_sums


window_sums = make_window_sums(SIMD_LANES)
"""The window pass for this machine's vector width."""
half_window_sums = make_window_sums(SIMD_LANES // 2)
"""The same for half as many lanes: the last block of a window that fills at most half a block."""
