// SPDX-License-Identifier: UNLICENSED
pragma solidity 0.8.37;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {EscrowLedger} from "./EscrowLedger.sol";
import {EscrowChallenge} from "./EscrowChallenge.sol";

/// @title Escrow of the gpu-exchange marketplace
/// @notice Clients deposit OGPU and withdraw what is not held in two steps: `requestWithdraw(amount)`,
///         then `withdraw()` once `withdrawDelay` has passed, which pays at most the free balance then
///         (balance - held - debt). The delay is longer than the marketplace takes to mirror a new job's
///         hold with `setHolds`, so money a job was matched on cannot leave before it is held on chain.
///         Settlement (batches, debts, proofs) is in EscrowSettlement; the accounts in EscrowLedger.
///         Providers and the fee recipient `claim` what settlement credited them (pull payments).
/// @dev Invariants: token.balanceOf(this) == sum(balanceOf) + sum(claimableOf) (greater only if
///      tokens are sent to this contract without `deposit`); heldOf(c) <= balanceOf(c) for every c;
///      a withdrawal never takes more than balance - held - debt. Amounts are token base units (wei,
///      18 decimals); a client's balance and held fit in uint128.
contract Escrow is EscrowChallenge {
    using SafeERC20 for IERC20;

    /// @dev A client's pending withdrawal: one per client, a new request replaces it (and its clock).
    struct Withdrawal {
        uint128 amount;
        uint64 unlockAt;
    }

    /// @notice The longest `withdrawDelay` the admin may set.
    uint64 public constant MAX_WITHDRAW_DELAY = 30 days;

    IERC20 public immutable token;
    /// @notice Seconds between `requestWithdraw` and the earliest `withdraw` of that request.
    uint64 public withdrawDelay;
    mapping(address client => Withdrawal) private _withdrawals;

    event Deposited(address indexed client, uint256 amount, uint256 newBalance);
    event WithdrawRequested(address indexed client, uint256 amount, uint64 unlockAt);
    event Withdrawn(address indexed client, uint256 amount, uint256 newBalance);
    event Claimed(address indexed account, address indexed to, uint256 amount);
    event FeeRecipientUpdated(address indexed previous, address indexed current);
    event WithdrawDelayUpdated(uint64 previousSeconds, uint64 newSeconds);

    error ZeroAmount();
    error NothingToClaim(address account);
    error NothingToWithdraw(address client);
    error WithdrawalLocked(address client, uint64 unlockAt);
    error WithdrawDelayTooLong(uint64 seconds_, uint64 max);

    /// @param token_ the OGPU ERC-20 (a standard token: no fee on transfer, no rebasing).
    /// @param admin receives DEFAULT_ADMIN_ROLE and PAUSER_ROLE; SETTLER_ROLE is granted separately.
    /// @param feeRecipient_ the account whose claimable balance receives protocol fees.
    /// @param withdrawDelay_ seconds between a withdrawal request and its withdrawal (at most 30 days); also
    ///        the delay of an allowance decrease.
    /// @param challengeWindow_ seconds a batch may be challenged and a challenge answered (at most 7 days;
    ///        0: no window, credits claimable at once).
    constructor(IERC20 token_, address admin, address feeRecipient_, uint64 withdrawDelay_, uint64 challengeWindow_)
        EscrowLedger(challengeWindow_)
    {
        if (address(token_) == address(0) || admin == address(0) || feeRecipient_ == address(0)) {
            revert ZeroAddress();
        }
        if (withdrawDelay_ > MAX_WITHDRAW_DELAY) revert WithdrawDelayTooLong(withdrawDelay_, MAX_WITHDRAW_DELAY);
        token = token_;
        feeRecipient = feeRecipient_;
        withdrawDelay = withdrawDelay_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(PAUSER_ROLE, admin);
        emit FeeRecipientUpdated(address(0), feeRecipient_);
        emit WithdrawDelayUpdated(0, withdrawDelay_);
    }

    // ------------------------------------------------------------------ clients

    /// @notice Moves `amount` tokens from the caller (after `approve`) into the caller's balance.
    function deposit(uint256 amount) external nonReentrant whenNotPaused {
        if (amount == 0) revert ZeroAmount();
        uint256 before = token.balanceOf(address(this));
        token.safeTransferFrom(msg.sender, address(this), amount);
        uint256 received = token.balanceOf(address(this)) - before;
        Account storage a = _accounts[msg.sender];
        uint128 newBalance = SafeCast.toUint128(uint256(a.balance) + received);
        a.balance = newBalance;
        emit Deposited(msg.sender, received, newBalance);
    }

    /// @notice Asks to withdraw `amount` (at most the balance) after `withdrawDelay` seconds. Replaces any
    ///         earlier request and restarts the clock; 0 cancels the request.
    function requestWithdraw(uint256 amount) external whenNotPaused {
        uint256 balance = _accounts[msg.sender].balance;
        if (amount > balance) revert InsufficientBalance(msg.sender, balance, amount);
        uint64 unlockAt = amount == 0 ? 0 : uint64(block.timestamp) + withdrawDelay;
        _withdrawals[msg.sender] = Withdrawal(uint128(amount), unlockAt);
        emit WithdrawRequested(msg.sender, amount, unlockAt);
    }

    /// @notice Pays the caller's withdrawal request once unlocked: the requested amount, or the free
    ///         balance (balance - held - debt) when that is less, and closes the request. Never takes
    ///         held funds: reverts InsufficientFreeBalance (keeping the request) when nothing is free.
    function withdraw() external nonReentrant whenNotPaused returns (uint256 amount) {
        Withdrawal memory w = _withdrawals[msg.sender];
        if (w.amount == 0) revert NothingToWithdraw(msg.sender);
        if (block.timestamp < w.unlockAt) revert WithdrawalLocked(msg.sender, w.unlockAt);
        Account storage a = _accounts[msg.sender];
        uint256 free = _freeOf(a, _debtOf[msg.sender]);
        if (free == 0) revert InsufficientFreeBalance(msg.sender, 0, w.amount);
        amount = w.amount < free ? w.amount : free;
        delete _withdrawals[msg.sender];
        uint128 newBalance = a.balance - uint128(amount);
        a.balance = newBalance;
        token.safeTransfer(msg.sender, amount);
        emit Withdrawn(msg.sender, amount, newBalance);
    }

    // ------------------------------------------------------------------ providers and fee recipient

    /// @notice Pays the caller's whole claimable balance to the caller.
    function claim() external returns (uint256) {
        return _claim(msg.sender);
    }

    /// @notice Pays the caller's whole claimable balance to `to`.
    function claimTo(address to) external returns (uint256) {
        if (to == address(0)) revert ZeroAddress();
        return _claim(to);
    }

    function _claim(address to) private nonReentrant whenNotPaused returns (uint256 amount) {
        _mature(msg.sender);
        amount = _claimable[msg.sender];
        if (amount == 0) revert NothingToClaim(msg.sender);
        _claimable[msg.sender] = 0;
        token.safeTransfer(to, amount);
        emit Claimed(msg.sender, to, amount);
    }

    // ------------------------------------------------------------------ admin

    function setFeeRecipient(address feeRecipient_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (feeRecipient_ == address(0)) revert ZeroAddress();
        emit FeeRecipientUpdated(feeRecipient, feeRecipient_);
        feeRecipient = feeRecipient_;
    }

    /// @notice Sets the withdrawal delay for later requests (pending ones keep their unlock time). It
    ///         must stay longer than the marketplace takes to mirror a new hold on chain.
    function setWithdrawDelay(uint64 seconds_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (seconds_ > MAX_WITHDRAW_DELAY) revert WithdrawDelayTooLong(seconds_, MAX_WITHDRAW_DELAY);
        emit WithdrawDelayUpdated(withdrawDelay, seconds_);
        withdrawDelay = seconds_;
    }

    /// @notice Stops deposit, requestWithdraw, withdraw, setHolds, settle, payDebt, claim and claimTo.
    ///         Views and admin functions (roles, setFeeRecipient, setWithdrawDelay, unpause) keep working.
    function pause() external onlyRole(PAUSER_ROLE) {
        _pause();
    }

    function unpause() external onlyRole(PAUSER_ROLE) {
        _unpause();
    }

    function _decreaseDelay() internal view override returns (uint64) {
        return withdrawDelay;
    }

    function _pullTokens(address from, uint256 amount) internal override {
        if (amount == 0) revert ZeroAmount();
        uint256 before = token.balanceOf(address(this));
        token.safeTransferFrom(from, address(this), amount);
        if (token.balanceOf(address(this)) - before != amount) revert ZeroAmount();
    }

    // ------------------------------------------------------------------ views

    /// @notice The client's pending withdrawal request: its amount and when `withdraw` may take it.
    function withdrawalOf(address client) external view returns (uint256 amount, uint64 unlockAt) {
        Withdrawal memory w = _withdrawals[client];
        return (w.amount, w.unlockAt);
    }
}
