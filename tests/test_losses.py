import torch
import torch.nn.functional as F

from bridge.distill.losses import kd_loss


def test_alpha_zero_is_plain_cross_entropy():
    s, y, t = torch.randn(8, 5), torch.randint(0, 5, (8,)), torch.randn(8, 5)
    loss, soft, hard = kd_loss(s, y, t, temperature=4.0, alpha=0.0)
    assert torch.allclose(loss, F.cross_entropy(s, y))
    assert soft.item() == 0.0


def test_soft_term_vanishes_when_student_matches_teacher():
    s, y = torch.randn(8, 5), torch.randint(0, 5, (8,))
    _, soft, _ = kd_loss(s, y, s.clone(), temperature=4.0, alpha=0.5)
    assert abs(soft.item()) < 1e-6


def test_loss_is_alpha_weighted_and_soft_term_scaled_by_t_squared():
    torch.manual_seed(0)
    s, y, t = torch.randn(16, 3), torch.randint(0, 3, (16,)), torch.randn(16, 3)
    temp = 3.0
    loss, soft, hard = kd_loss(s, y, t, temperature=temp, alpha=0.7)
    p_t = F.softmax(t / temp, dim=1)
    kl = (p_t * (p_t.log() - F.log_softmax(s / temp, dim=1))).sum(1).mean()
    assert torch.allclose(soft, kl * temp**2, atol=1e-6)
    assert torch.allclose(loss, 0.7 * soft + 0.3 * hard)


def test_gradient_pulls_student_towards_teacher():
    t = torch.tensor([[4.0, 0.0, 0.0]])
    s = torch.zeros(1, 3, requires_grad=True)
    loss, _, _ = kd_loss(s, torch.tensor([1]), t, temperature=2.0, alpha=1.0)
    loss.backward()
    assert s.grad[0, 0] < 0  # increasing the teacher's top logit lowers the loss
