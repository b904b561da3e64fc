"""The mean-shift window pass as explicit SIMD: a numba intrinsic that emits LLVM vector IR.

`window_sums(planes, minx, n, miny, rows, c0, c1, c2, isr2, lim2)` returns what OpenCV's window loop in
`pyrMeanShiftFiltering` computes for the `rows` x `n` window at (`minx`, `miny`) of a 3 x H x Wp uint8 plane
array: the count of pixels t with |t - c|^2 <= isr2, their colour sums and their x and y sums.

The window is swept in column blocks of `SIMD_LANES` pixels. Each lane keeps its own 16-bit count, colour
sums and row-offset sum across all rows of the block, so a block costs one horizontal reduction instead of
one per row (which numba's auto-vectorised loops cannot avoid). All arithmetic is exact integer arithmetic:

* squares: `(t - c)^2 <= 255^2` is exact in 16 bits read as unsigned; each square is clamped to
  `lim2 = L^2` with `L^2 > isr2`, which leaves the test `sum <= isr2` unchanged and keeps the sum of three
  below 2^16 (the caller checks `3 * lim2 <= 65535`);
* per-lane sums: at most `rows * 255` (the caller checks `rows <= 257`), widened to 32 bits to reduce.

LLVM lowers the vector IR for the machine it compiles on (AVX-512, AVX2, SSE or NEON), so this is portable;
`tests/test_meanshift.py` checks equality with OpenCV.
"""

from __future__ import annotations

import llvmlite.binding as llvm
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

I16, I32, I64 = ir.IntType(16), ir.IntType(32), ir.IntType(64)
MAX_ROWS = 257
"""Longest window column the 16-bit lane sums hold exactly (257 * 255 < 2^16)."""
MAX_LIM2 = 65535 // 3
"""Largest clamp for one square so that three of them fit 16 unsigned bits."""


def _lanes() -> int:
    """32 lanes where 512-bit integer vectors are native (AVX-512BW), else 16 (measured faster on AVX2)."""
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
        self.v8 = ir.VectorType(ir.IntType(8), lanes)
        self.v16 = ir.VectorType(I16, lanes)
        self.v32 = ir.VectorType(I32, lanes)
        self.lane16 = ir.Constant(self.v16, [I16(k) for k in range(lanes)])
        self.lane32 = ir.Constant(self.v32, [I32(k) for k in range(lanes)])
        self.zero16 = ir.Constant(self.v16, [I16(0)] * lanes)


def _row_step(builder, vt, data, start, plane, colours, lim2, isr2, valid, yoff, accs) -> None:
    """One window row of one block: colour test of each lane and masked adds into the lane accumulators."""
    pixels = []
    dist = None
    for ch in range(3):
        ptr = builder.gep(data, [builder.add(start, builder.mul(plane, I64(ch)))])
        t = builder.zext(builder.load(builder.bitcast(ptr, vt.v8.as_pointer()), align=1), vt.v16)
        d = builder.sub(t, colours[ch])
        sq = builder.mul(d, d)
        sq = builder.select(builder.icmp_unsigned("<", sq, lim2), sq, lim2)
        dist = sq if dist is None else builder.add(dist, sq)
        pixels.append(t)
    hit = builder.and_(builder.icmp_unsigned("<=", dist, isr2), valid)
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
        minx, n, miny, rows, c0, c1, c2, isr2, lim2 = args[1:]
        _, height, width = cgutils.unpack_tuple(builder, arr.shape, 3)
        plane = builder.mul(height, width)
        colours = [_splat(builder, builder.trunc(c, I16), vt.v16) for c in (c0, c1, c2)]
        isr2_v, lim2_v, n_v = (_splat(builder, builder.trunc(v, I16), vt.v16) for v in (isr2, lim2, n))
        totals = [cgutils.alloca_once_value(builder, I64(0)) for _ in range(6)]
        accs = [cgutils.alloca_once(builder, vt.v16) for _ in range(5)]
        blocks = builder.udiv(builder.add(n, I64(lanes - 1)), I64(lanes))
        with cgutils.for_range(builder, blocks) as blk:
            off = builder.mul(blk.index, I64(lanes))
            x0 = builder.add(minx, off)
            valid = builder.icmp_unsigned("<", builder.add(vt.lane16, _splat(builder, builder.trunc(off, I16), vt.v16)),
                                          n_v)
            for acc in accs:
                builder.store(vt.zero16, acc)
            with cgutils.for_range(builder, rows) as row:
                start = builder.add(builder.mul(builder.add(miny, row.index), width), x0)
                yoff = _splat(builder, builder.trunc(row.index, I16), vt.v16)
                _row_step(builder, vt, arr.data, start, plane, colours, lim2_v, isr2_v, valid, yoff, accs)
            for tot, part in zip(totals, _block_totals(builder, vt, accs, x0)):
                builder.store(builder.add(builder.load(tot), part), tot)
        out = [builder.load(t) for t in totals]
        out[5] = builder.add(out[5], builder.mul(out[0], miny))
        return context.make_tuple(builder, signature.return_type, out)

    return codegen


def make_window_sums(lanes: int):
    """The window-sum intrinsic for blocks of `lanes` pixels (any power of two; SIMD_LANES is the fast one)."""

    @intrinsic
    def window_sums(typingctx, planes, minx, n, miny, rows, c0, c1, c2, isr2, lim2):
        """(count, s0, s1, s2, sx, sy) of the window; scalar arguments int64, `planes` 3 x H x Wp uint8 C."""
        if not (isinstance(planes, types.Array) and planes.dtype == types.uint8 and planes.ndim == 3
                and planes.layout == "C"):
            return None
        i64 = types.int64
        sig = types.UniTuple(i64, 6)(planes, i64, i64, i64, i64, i64, i64, i64, i64, i64)
        return sig, _codegen(lanes)

    return window_sums


window_sums = make_window_sums(SIMD_LANES)
"""The window pass for this machine's vector width."""
