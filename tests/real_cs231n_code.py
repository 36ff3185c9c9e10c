"""Real CS231n assignment-2 layers from public repositories, ported with glue only, for the acceptance study.

Each entry is the repository's functions as they are (comments and blank lines trimmed), with only
this glue: Python 2 to 3 (``xrange`` to ``range``, integer ``/`` to ``//``, as Python 2 divided),
names changed to the kit's (``conv_forward`` to ``conv_forward_naive``), and, where a repository
computes only the loss, its own softmax reused for ``dx``. The code is appended to the solved
``cs_conv/layers.py`` of a submission, so a later ``def`` replaces the kit's. ``VERDICT`` says which
functions are right under the kit's semantics (read by a person, then checked against the grader's
reference by ``test_real_code``), and what is wrong with the others.
"""

# ruff: noqa: E501 - the ported code keeps its authors' line lengths

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Port:
    repo: str
    path: str
    commit: str
    code: str
    verdict: dict[str, str]  # function -> "" if correct, else what is wrong with it


PORTS = (
    Port("Clarence-G/learngit", "cs231n/assignment2/conv1.py, cs231n/assignment2/max-pool.py",
         "be3e03b32cb105dd3c455651bc19cc9a62238de7", '''
def conv_forward_naive(x, w, b, conv_param):
    stride, pad = conv_param['stride'], conv_param['pad']
    N, C, H, W = x.shape
    F, C, HH, WW = w.shape
    x_padded = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), mode='constant')
    H_new = 1 + (H + 2 * pad - HH) // stride
    W_new = 1 + (W + 2 * pad - WW) // stride
    s = stride
    out = np.zeros((N, F, H_new, W_new))
    for i in range(N):
        for f in range(F):
            for j in range(H_new):
                for k in range(W_new):
                    out[i, f, j, k] = np.sum(x_padded[i, :, j*s:HH+j*s, k*s:WW+k*s] * w[f]) + b[f]
    cache = (x, w, b, conv_param)
    return out, cache


def conv_backward_naive(dout, cache):
    x, w, b, conv_param = cache
    pad = conv_param['pad']
    stride = conv_param['stride']
    F, C, HH, WW = w.shape
    N, C, H, W = x.shape
    H_new = 1 + (H + 2 * pad - HH) // stride
    W_new = 1 + (W + 2 * pad - WW) // stride
    dx = np.zeros_like(x)
    dw = np.zeros_like(w)
    db = np.zeros_like(b)
    s = stride
    x_padded = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), 'constant')
    dx_padded = np.pad(dx, ((0, 0), (0, 0), (pad, pad), (pad, pad)), 'constant')
    for i in range(N):
        for f in range(F):
            for j in range(H_new):
                for k in range(W_new):
                    window = x_padded[i, :, j*s:HH+j*s, k*s:WW+k*s]
                    db[f] += dout[i, f, j, k]
                    dw[f] += window * dout[i, f, j, k]
                    dx_padded[i, :, j*s:HH+j*s, k*s:WW+k*s] += w[f] * dout[i, f, j, k]
    dx = dx_padded[:, :, pad:pad+H, pad:pad+W]
    return dx, dw, db


def max_pool_forward_naive(x, pool_param):
    HH, WW = pool_param['pool_height'], pool_param['pool_width']
    s = pool_param['stride']
    N, C, H, W = x.shape
    H_new = 1 + (H - HH) // s
    W_new = 1 + (W - WW) // s
    out = np.zeros((N, C, H_new, W_new))
    for i in range(N):
        for j in range(C):
            for k in range(H_new):
                for l in range(W_new):
                    window = x[i, j, k*s:HH+k*s, l*s:WW+l*s]
                    out[i, j, k, l] = np.max(window)
    cache = (x, pool_param)
    return out, cache


def max_pool_backward_naive(dout, cache):
    x, pool_param = cache
    HH, WW = pool_param['pool_height'], pool_param['pool_width']
    s = pool_param['stride']
    N, C, H, W = x.shape
    H_new = 1 + (H - HH) // s
    W_new = 1 + (W - WW) // s
    dx = np.zeros_like(x)
    for i in range(N):
        for j in range(C):
            for k in range(H_new):
                for l in range(W_new):
                    window = x[i, j, k*s:HH+k*s, l*s:WW+l*s]
                    m = np.max(window)
                    dx[i, j, k*s:HH+k*s, l*s:WW+l*s] = (window == m) * dout[i, j, k, l]
    return dx
''', {"conv_forward_naive": "", "conv_backward_naive": "", "max_pool_forward_naive": "",
      "max_pool_backward_naive": "dx[window] = mask * dout: overlapping windows overwrite each other (= for +=)"}),

    Port("mirjunaid26/cs231n_dl_computer_vision", "deep_learning_suite/conv_layers.py",
         "6d01c9cb02e9f482f59346340e4fd2e5cdfc2958", '''
def conv_forward_naive(x, w, b, conv_param):
    out = None
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    stride = conv_param['stride']
    pad = conv_param['pad']
    H_out = 1 + (H + 2 * pad - HH) // stride
    W_out = 1 + (W + 2 * pad - WW) // stride
    out = np.zeros((N, F, H_out, W_out))
    x_pad = np.pad(x, ((0,0), (0,0), (pad,pad), (pad,pad)), 'constant')
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    h_start = i * stride
                    h_end = h_start + HH
                    w_start = j * stride
                    w_end = w_start + WW
                    x_slice = x_pad[n, :, h_start:h_end, w_start:w_end]
                    out[n, f, i, j] = np.sum(x_slice * w[f]) + b[f]
    cache = (x, w, b, conv_param)
    return out, cache


def conv_backward_naive(dout, cache):
    x, w, b, conv_param = cache
    stride = conv_param['stride']
    pad = conv_param['pad']
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    N, F, H_out, W_out = dout.shape
    x_pad = np.pad(x, ((0,0), (0,0), (pad,pad), (pad,pad)), 'constant')
    dx_pad = np.zeros_like(x_pad)
    dw = np.zeros_like(w)
    db = np.zeros_like(b)
    db = np.sum(dout, axis=(0, 2, 3))
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    h_start = i * stride
                    h_end = h_start + HH
                    w_start = j * stride
                    w_end = w_start + WW
                    x_slice = x_pad[n, :, h_start:h_end, w_start:w_end]
                    dw[f] += x_slice * dout[n, f, i, j]
                    dx_pad[n, :, h_start:h_end, w_start:w_end] += w[f] * dout[n, f, i, j]
    dx = dx_pad[:, :, pad:pad+H, pad:pad+W]
    return dx, dw, db


def max_pool_forward_naive(x, pool_param):
    N, C, H, W = x.shape
    pool_height = pool_param['pool_height']
    pool_width = pool_param['pool_width']
    stride = pool_param['stride']
    H_out = 1 + (H - pool_height) // stride
    W_out = 1 + (W - pool_width) // stride
    out = np.zeros((N, C, H_out, W_out))
    for n in range(N):
        for c in range(C):
            for i in range(H_out):
                for j in range(W_out):
                    h_start = i * stride
                    h_end = h_start + pool_height
                    w_start = j * stride
                    w_end = w_start + pool_width
                    x_slice = x[n, c, h_start:h_end, w_start:w_end]
                    out[n, c, i, j] = np.max(x_slice)
    cache = (x, pool_param)
    return out, cache


def max_pool_backward_naive(dout, cache):
    x, pool_param = cache
    pool_height = pool_param['pool_height']
    pool_width = pool_param['pool_width']
    stride = pool_param['stride']
    N, C, H, W = x.shape
    H_out = 1 + (H - pool_height) // stride
    W_out = 1 + (W - pool_width) // stride
    dx = np.zeros_like(x)
    for n in range(N):
        for c in range(C):
            for i in range(H_out):
                for j in range(W_out):
                    h_start = i * stride
                    h_end = h_start + pool_height
                    w_start = j * stride
                    w_end = w_start + pool_width
                    x_slice = x[n, c, h_start:h_end, w_start:w_end]
                    max_val = np.max(x_slice)
                    local_grad = (x_slice == max_val)
                    dx[n, c, h_start:h_end, w_start:w_end] += local_grad * dout[n, c, i, j]
    return dx
''', {"conv_forward_naive": "", "conv_backward_naive": "", "max_pool_forward_naive": "",
      "max_pool_backward_naive": "every tied maximum gets the gradient, not the first one"}),

    Port("0809zheng/CS231n-assignment2019", "assignment2/cs231n/layers.py", "bfc81c1989e71b4887a9bcd581b273d2faefb90d",
         '''
def affine_forward(x, w, b):
    temp_x = x.copy()
    temp_x = temp_x.reshape((x.shape[0], -1))
    out = temp_x.dot(w) + b
    cache = (x, w, b)
    return out, cache


def affine_backward(dout, cache):
    x, w, b = cache
    temp_x = x.reshape((x.shape[0], -1))
    dx = dout.dot(w.T)
    dx = dx.reshape(x.shape)
    dw = temp_x.T.dot(dout)
    db = np.sum(dout, axis = 0)
    return dx, dw, db


def relu_forward(x):
    out = np.maximum(0, x)
    cache = x
    return out, cache


def relu_backward(dout, cache):
    dx, x = None, cache
    dx = dout
    dx[x <= 0] = 0
    return dx


def conv_forward_naive(x, w, b, conv_param):
    stride = conv_param['stride']
    pad = conv_param['pad']
    N, C, H, W = x.shape
    F, C, HH, WW = w.shape
    H_ = int((H + 2*pad - HH)/stride + 1)
    W_ = int((W + 2*pad - WW)/stride + 1)
    out = np.zeros((N, F, H_, W_))
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), 'constant', constant_values = 0)
    for f in range(F):
        for i in range(H_):
            for j in range(W_):
                x_conv = x_pad[:, :, i*stride:(i*stride + HH), j*stride:(j*stride + WW)]*w[f, :, :, :]
                out[:, f, i, j] = np.sum(x_conv, axis = (1,2,3), keepdims = False)+b[f]
    cache = (x, w, b, conv_param)
    return out, cache


def conv_backward_naive(dout, cache):
    x, w, b, conv_param = cache
    stride = conv_param['stride']
    pad = conv_param['pad']
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), 'constant', constant_values = 0)
    N, C, H, W = x.shape
    F, C, HH, WW = w.shape
    H_ = int((H + 2*pad - HH)/stride + 1)
    W_ = int((W + 2*pad - WW)/stride + 1)
    dx_pad = np.zeros((N, C, H+pad*2, W+pad*2))
    dw = np.zeros((F, C, HH, WW))
    for f in range(F):
        for i in range(H_):
            for j in range(W_):
                temp = x_pad[:, :, i*stride:(i*stride + HH), j*stride:(j*stride + WW)]*dout[:, f, i, j].reshape(-1,1,1,1)
                dw[f, :, :, :] += np.sum(temp, axis = 0, keepdims = False)
                dx_pad[:, :, i*stride:(i*stride + HH), j*stride:(j*stride + WW)] += w[f, :, :, :]*dout[:, f, i, j].reshape(-1,1,1,1)
    dx = dx_pad[:, :, pad:-pad, pad:-pad]
    db = np.sum(dout, axis = (0,2,3))
    return dx, dw, db


def max_pool_forward_naive(x, pool_param):
    pool_height = pool_param['pool_height']
    pool_width = pool_param['pool_width']
    stride = pool_param['stride']
    N, C, H, W = x.shape
    H_ = int((H - pool_height)/stride + 1)
    W_ = int((W - pool_width)/stride + 1)
    out = np.zeros((N, C, H_, W_))
    for i in range(H_):
        for j in range(W_):
            temp = x[:, :, i*stride:(i*stride+pool_height), j*stride:(j*stride+pool_width)]
            out[:, :, i, j] = np.max(temp, axis = (2,3))
    cache = (x, pool_param)
    return out, cache


def max_pool_backward_naive(dout, cache):
    x, pool_param = cache
    pool_height = pool_param['pool_height']
    pool_width = pool_param['pool_width']
    stride = pool_param['stride']
    N, C, H, W = x.shape
    H_ = int((H - pool_height)/stride + 1)
    W_ = int((W - pool_width)/stride + 1)
    assert dout.shape == (N, C, H_, W_)
    dx = np.zeros((N, C, H, W))
    for n in range(N):
        for c in range(C):
            for i in range(H_):
                for j in range(W_):
                    temp = x[n, c, i*stride:(i*stride+pool_height), j*stride:(j*stride+pool_width)]
                    row, col = np.where(temp == np.max(temp))
                    dx[n, c, i*stride + int(row), j*stride + int(col)] = dout[n, c, i, j]
    return dx
''', {"affine_forward": "", "affine_backward": "", "relu_forward": "",
      "relu_backward": "writes into dout (dx = dout; dx[x <= 0] = 0)",
      "conv_forward_naive": "", "conv_backward_naive": "dx_pad[:, :, pad:-pad, pad:-pad] is empty at pad 0",
      "max_pool_forward_naive": "",
      "max_pool_backward_naive": "= for += (overlapping windows sharing a maximum), and a crash on ties"}),

    Port("AnirudhM1/CS231n-2022-Solutions", "assignment2/cs231n/layers.py", "d2d76e34d86c3e3f3d113f90fd41a6493fa61ec5",
         '''
def affine_forward(x, w, b):
    out = x.reshape(x.shape[0], -1)
    out = out @ w + b
    cache = (x, w, b)
    return out, cache


def affine_backward(dout, cache):
    x, w, b = cache
    dx = (dout @ w.T).reshape(x.shape)
    dw = x.reshape(x.shape[0], -1).T @ dout
    db = np.sum(dout, axis=0)
    return dx, dw, db


def relu_forward(x):
    out = np.maximum(0, x)
    cache = x
    return out, cache


def relu_backward(dout, cache):
    dx, x = None, cache
    mask = (x > 0)
    dx = mask * dout
    return dx


def softmax_loss(x, y):
    logits = x
    logits -= np.max(logits, axis=1, keepdims=True)
    probabilities = np.exp(logits) / np.sum(np.exp(logits), axis=1, keepdims=True)
    loss = -np.mean(np.log(probabilities[np.arange(logits.shape[0]), y]))
    diff = probabilities
    diff[np.arange(logits.shape[0]), y] -= 1
    dx = diff / x.shape[0]
    return loss, dx


def conv_forward_naive(x, w, b, conv_param):
    N, _, H, W = x.shape
    F, _, HH, WW = w.shape
    stride = conv_param['stride']
    pad = conv_param['pad']
    H_ = int(1 + (H + 2 * pad - HH) / stride)
    W_ = int(1 + (W + 2 * pad - WW) / stride)
    X = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    out = np.zeros((N, F, H_, W_))
    for f in range(F):
      kernel = w[f]
      for i in range(0, H_):
        for j in range(0, W_):
          out[:, f, i, j] = np.sum(X[:, :, i*stride:i*stride+HH, j*stride:j*stride+WW] * kernel, axis=(1, 2, 3))
    out += b.reshape(1,-1, 1, 1)
    cache = (x, w, b, conv_param)
    return out, cache


def conv_backward_naive(dout, cache):
    db = np.sum(dout, axis=(0, 2, 3))
    x, w, b, conv_param = cache
    dw = np.zeros_like(w)
    dx = np.zeros_like(x)
    F, C, HH, WW = w.shape
    N, _, H, W = x.shape
    stride = conv_param['stride']
    pad = conv_param['pad']
    H_ = int(1 + (H + 2 * pad - HH) / stride)
    W_ = int(1 + (W + 2 * pad - WW) / stride)
    return dx, dw, db


def max_pool_forward_naive(x, pool_param):
    N, C, H, W = x.shape
    HH = pool_param['pool_height']
    WW = pool_param['pool_width']
    stride = pool_param['stride']
    H_ = int(1 + (H - HH) / stride)
    W_ = int(1 + (W - WW) / stride)
    out = np.zeros((N, C, H_, W_))
    for i in range(0, H_):
      for j in range(0, W_):
        out[:, :, i, j] = np.max(x[:, :, i*stride:i*stride+HH, j*stride:j*stride+WW], axis=(2, 3))
    cache = (x, pool_param)
    return out, cache
''', {"affine_forward": "", "affine_backward": "", "relu_forward": "", "relu_backward": "",
      "softmax_loss": "logits = x; logits -= max: subtracts from the caller's x",
      "conv_forward_naive": "", "conv_backward_naive": "unfinished: dx and dw stay zero",
      "max_pool_forward_naive": ""}),

    Port("Usman-Bajwa1/CNN-Scratch", "conv.py", "0cb438f0fa6d2ad93c405915a957902cf9e11513", '''
def conv_forward_naive(x, W, b, conv_param):
    pad = conv_param["pad"]
    stride = conv_param["stride"]
    batch_size , in_channel, h, w = x.shape
    out_channel, _, kh, kw = W.shape
    out_h = 1 + (h + 2 * pad - kh) // stride
    out_w = 1 + (w + 2 * pad - kw) // stride
    x_pad = np.pad(x, ((0,0),(0,0),(pad,pad),(pad,pad)), 'constant')
    output = np.zeros((batch_size, out_channel, out_h, out_w))
    for bs in range(batch_size):
        for oc in range(out_channel):
            for i in range(out_h):
                for j in range(out_w):
                    region_sum = 0
                    for ic in range(in_channel):
                        region = x_pad[bs, ic, i*stride: i *stride + kh, j*stride: j*stride + kw]
                        region_sum += np.sum(region * W[oc, ic])
                    output[bs, oc, i, j] = region_sum + b[oc]
    cache = (x, W, b, stride, pad)
    return output, cache


def conv_backward_naive(dout, cache):
    x, W, b, stride, pad =  cache
    batch_size, out_channel, out_h, out_w = dout.shape
    _, in_channel, h, w = x.shape
    _, _, kh, kw = W.shape
    dx = np.zeros_like(x)
    dW = np.zeros_like(W)
    db = np.zeros_like(b)
    dx_pad = np.pad(dx, ((0,0),(0,0),(pad,pad),(pad,pad)), 'constant')
    x_pad = np.pad(x, ((0,0),(0,0),(pad,pad),(pad,pad)), 'constant')
    db = np.sum(dout, axis = (0, 2,3))
    for bs in range(batch_size):
        for oc in range(out_channel):
            for i in range(out_h):
                for j in range(out_w):
                    for ic in range(in_channel):
                        region =  x_pad[bs,ic, i*stride:i*stride+kh, j*stride: j*stride +kw]
                        dW[oc, ic] += region * dout[bs, oc, i, j]
                        dx_pad[bs, ic, i*stride: i*stride + kh, j*stride:j*stride + kw] += W[oc,ic] * dout[bs, oc, i, j]
    dx = dx_pad[:,:,pad:pad + h, pad:pad+w]
    return dx, dW, db
''', {"conv_forward_naive": "",
      "conv_backward_naive": ""}),  # right, on its own cache (x, W, b, stride, pad)

    Port("kaiweihuang/CS231n", "assignment2/cs231n/layers.py", "5779458f336e070b50cdf6a11e0044e5ac439361", '''
def affine_forward(x, w, b):
  N = x.shape[0]
  x_unravelled = x.reshape(N,-1)
  out = x_unravelled.dot(w)+b
  cache = (x, w, b)
  return out, cache


def affine_backward(dout, cache):
  x, w, b = cache
  N = x.shape[0]
  x_unravelled = x.reshape(N,-1)
  db = np.sum(dout,axis = 0)
  dw = x_unravelled.T.dot(dout)
  dx = dout.dot(w.T).reshape(x.shape)
  return dx, dw, db


def relu_forward(x):
  f = lambda x:np.maximum(0,x)
  out = f(x)
  cache = x
  return out, cache


def relu_backward(dout, cache):
  dx, x = None, cache
  dx = np.copy(dout)
  dx[x < 0] = 0
  return dx


def conv_forward_naive(x, w, b, conv_param):
  N,C,H,W = x.shape
  F,_,HH,WW = w.shape
  pad = conv_param['pad']
  stride = conv_param['stride']
  H_prime = int(((H-HH+2*pad)/stride)+1)
  W_prime = int(((W-WW+2*pad)/stride)+1)
  out = np.zeros((N,F,H_prime,W_prime))
  x_pad = np.zeros((N,C,H+2*pad,W+2*pad))
  for n in range(N):
      for c in range(C):
          x_pad[n,c] = np.pad(x[n,c],(pad,pad),'constant',constant_values = (0,0))
  for n in range(N):
      for h_prime in range(H_prime):
          for w_prime in range(W_prime):
              for f in range(F):
                  current_x = x_pad[n,:,h_prime*stride:h_prime*stride+HH,w_prime*stride:w_prime*stride+WW]
                  current_w = w[f]
                  out[n,f,h_prime,w_prime] = np.sum(current_x*current_w)
              out[n,:,h_prime,w_prime] += b
  cache = (x, w, b, conv_param)
  return out, cache


def conv_backward_naive(dout, cache):
  x,w,b,conv_param = cache
  pad = conv_param['pad']
  stride = conv_param['stride']
  N,C,H,W = x.shape
  _,F,H_prime,W_prime = dout.shape
  _,_,HH,WW = w.shape
  db = np.zeros((F))
  dw = np.zeros((F,C,HH,WW))
  dx_pad = np.zeros((N,C,H+2*pad,W+2*pad))
  x_pad = np.zeros((N,C,H+2*pad,W+2*pad))
  for n in range(N):
      for c in range(C):
          x_pad[n,c] = np.pad(x[n,c],(pad,pad),'constant',constant_values = (0,0))
  for n in range(N):
      for h_prime in range(H_prime):
          for w_prime in range(W_prime):
              db += dout[n,:,h_prime,w_prime]
  for n in range(N):
      for f in range(F):
          for h_prime in range(H_prime):
              for w_prime in range(W_prime):
                  current_x = x_pad[n,:,h_prime*stride:h_prime*stride+HH,w_prime*stride:w_prime*stride+WW]
                  dw[f] += dout[n,f,h_prime,w_prime]*current_x
                  dx_pad[n,:,h_prime*stride:h_prime*stride+HH,w_prime*stride:w_prime*stride+WW] += dout[n,f,h_prime,w_prime]*w[f]
  dx = dx_pad[:,:,pad:H+pad,pad:W+pad]
  return dx, dw, db


def max_pool_forward_naive(x, pool_param):
  N,C,H,W = x.shape
  pool_height = pool_param['pool_height']
  pool_width = pool_param['pool_width']
  stride = pool_param['stride']
  H_out = int(((H-pool_height)/stride)+1)
  W_out = int(((W-pool_width)/stride)+1)
  out = np.zeros((N,C,H_out,W_out))
  for n in range(N):
      for c in range(C):
          for h in range(H_out):
              for w in range(W_out):
                  current_x = x[n,c,h*stride:h*stride+pool_height,w*stride:w*stride+pool_width]
                  out[n,c,h,w] = np.max(current_x)
  cache = (x, pool_param)
  return out, cache


def max_pool_backward_naive(dout, cache):
  x,pool_param = cache
  N,C,H_out,W_out = dout.shape
  pool_height = pool_param['pool_height']
  pool_width = pool_param['pool_width']
  stride = pool_param['stride']
  dx = np.zeros(x.shape)
  for n in range(N):
      for c in range(C):
          for h in range(H_out):
              for w in range(W_out):
                  current_x = x[n,c,h*stride:h*stride+pool_height,w*stride:w*stride+pool_width]
                  argmax_indices = np.unravel_index(current_x.argmax(),current_x.shape)
                  dx[n,c,h*stride+argmax_indices[0],w*stride+argmax_indices[1]] += dout[n,c,h,w]
  return dx


def softmax_loss(x, y):
  probs = np.exp(x - np.max(x, axis=1, keepdims=True))
  probs /= np.sum(probs, axis=1, keepdims=True)
  N = x.shape[0]
  loss = -np.sum(np.log(probs[np.arange(N), y])) / N
  dx = probs.copy()
  dx[np.arange(N), y] -= 1
  dx /= N
  return loss, dx
''', {"affine_forward": "", "affine_backward": "", "relu_forward": "",
      "relu_backward": "dx[x < 0] = 0 lets the gradient through at x == 0",
      "conv_forward_naive": "", "conv_backward_naive": "", "max_pool_forward_naive": "",
      "max_pool_backward_naive": "", "softmax_loss": ""}),  # softmax_loss is the course's starter code

    Port("xs2445/CNN-PyCUDA-EECS4750-Project", "utils/Lossfunctions.py", "72eb8fbeda8fe97427096f935155f5cb3ac2b42d", '''
def softmax_loss(x, y):
    loss = 0.0
    num_train = x.shape[0]
    x = x - np.max(x, axis=1, keepdims=True)
    x_exp = np.exp(x)
    loss -= np.sum(x[:, y])
    loss += np.sum(np.log(np.sum(x_exp, axis=1)))
    loss /= num_train
    neg = np.zeros_like(x)
    neg[range(num_train), y] = -1
    pos = (x_exp.T / np.sum(x_exp, axis=1)).T
    dx = (neg + pos) / num_train
    return loss, dx
''', {"softmax_loss": "x[:, y] sums N x N scores, not each example's right class"}),

    Port("vanqaq/hm1", "loss.py", "73281df517ff758a7a267622f68422427f8166a5", '''
def softmax(x):
    max_x = np.max(x,axis=1).reshape(-1,1)
    x = np.exp(x-max_x) / np.sum(np.exp(x-max_x), axis = 1, keepdims = True)
    return x


def CrossEntropyLoss(y_hat,y):
    y_hat = softmax(y_hat)
    l = 0
    for i,j in enumerate(y):
        l += -np.log(y_hat[i,j]+1e-05)
    return l/len(y)


def softmax_loss(x, y):  # glue: the repository computes the loss only; dx from its own softmax
    dx = softmax(x)
    dx[np.arange(len(y)), y] -= 1
    return CrossEntropyLoss(x, y), dx / len(y)
''', {"softmax_loss": "-log(p + 1e-05): the loss is capped and off by up to 1e-5 / p everywhere"}),
)
