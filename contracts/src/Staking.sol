// SPDX-License-Identifier: UNLICENSED
pragma solidity 0.8.37;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";

/// @title Provider staking of the gpu-exchange marketplace
/// @notice Providers stake OGPU, request to unstake (the amount moves to unbonding for
///         `unbondingPeriod` seconds) and withdraw it once unlocked. SLASHER_ROLE slashes a provider
///         for misbehaviour, from staked first and then from unbonding, to the treasury.
/// @dev One pending unstake request per provider: a new request adds to the unbonding amount and
///      restarts the clock for all of it (unlockAt = now + unbondingPeriod). Changing
///      `unbondingPeriod` does not move existing unlock times.
///      Invariant: token.balanceOf(this) == totalStaked + totalUnbonding (greater only if tokens are
///      sent here without `stake`). Amounts are token base units (wei, 18 decimals).
contract Staking is AccessControl, ReentrancyGuard, Pausable {
    using SafeERC20 for IERC20;

    bytes32 public constant SLASHER_ROLE = keccak256("SLASHER_ROLE");
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");

    uint256 public constant BPS = 10_000;
    uint256 public constant MAX_UNBONDING_PERIOD = 365 days;

    struct Position {
        uint256 staked;
        uint256 unbonding;
        uint64 unlockAt;
        uint256 slashed;
    }

    IERC20 public immutable token;
    address public treasury;
    /// @notice Seconds between an unstake request and its withdrawal (default 7 days).
    uint64 public unbondingPeriod;
    /// @notice Most one `slash` call may take, in basis points of the provider's staked + unbonding.
    uint16 public maxSlashBps;

    uint256 public totalStaked;
    uint256 public totalUnbonding;

    mapping(address provider => Position) private _positions;

    event Staked(address indexed provider, uint256 amount, uint256 newStaked);
    event UnstakeRequested(address indexed provider, uint256 amount, uint64 unlockAt);
    event Withdrawn(address indexed provider, uint256 amount);
    event Slashed(address indexed provider, uint256 amount, bytes32 indexed reason);
    event UnbondingPeriodUpdated(uint64 previousSeconds, uint64 newSeconds);
    event MaxSlashBpsUpdated(uint16 previousBps, uint16 newBps);
    event TreasuryUpdated(address indexed previous, address indexed current);

    error ZeroAddress();
    error ZeroAmount();
    error InsufficientStake(address provider, uint256 staked, uint256 requested);
    error NothingToWithdraw(address provider);
    error StillUnbonding(address provider, uint64 unlockAt);
    error SlashExceedsCap(address provider, uint256 amount, uint256 cap);
    error UnbondingPeriodTooLong(uint64 seconds_, uint64 max);
    error BpsOutOfRange(uint16 bps);

    /// @param admin receives DEFAULT_ADMIN_ROLE and PAUSER_ROLE; SLASHER_ROLE is granted separately.
    /// @param unbondingPeriod_ seconds (7 days = 604800 is the usual value).
    constructor(IERC20 token_, address admin, address treasury_, uint64 unbondingPeriod_) {
        if (address(token_) == address(0) || admin == address(0) || treasury_ == address(0)) revert ZeroAddress();
        if (unbondingPeriod_ > MAX_UNBONDING_PERIOD) {
            revert UnbondingPeriodTooLong(unbondingPeriod_, uint64(MAX_UNBONDING_PERIOD));
        }
        token = token_;
        treasury = treasury_;
        unbondingPeriod = unbondingPeriod_;
        maxSlashBps = 1_000;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(PAUSER_ROLE, admin);
        emit TreasuryUpdated(address(0), treasury_);
        emit UnbondingPeriodUpdated(0, unbondingPeriod_);
        emit MaxSlashBpsUpdated(0, 1_000);
    }

    // ------------------------------------------------------------------ providers

    /// @notice Moves `amount` tokens from the caller (after `approve`) into the caller's stake.
    function stake(uint256 amount) external nonReentrant whenNotPaused {
        if (amount == 0) revert ZeroAmount();
        Position storage p = _positions[msg.sender];
        uint256 newStaked = p.staked + amount;
        p.staked = newStaked;
        totalStaked += amount;
        token.safeTransferFrom(msg.sender, address(this), amount);
        emit Staked(msg.sender, amount, newStaked);
    }

    /// @notice Moves `amount` from staked to unbonding; the whole unbonding amount unlocks
    ///         `unbondingPeriod` seconds from now.
    function requestUnstake(uint256 amount) external whenNotPaused {
        if (amount == 0) revert ZeroAmount();
        Position storage p = _positions[msg.sender];
        if (amount > p.staked) revert InsufficientStake(msg.sender, p.staked, amount);
        p.staked -= amount;
        p.unbonding += amount;
        totalStaked -= amount;
        totalUnbonding += amount;
        uint64 unlockAt = uint64(block.timestamp) + unbondingPeriod;
        p.unlockAt = unlockAt;
        emit UnstakeRequested(msg.sender, amount, unlockAt);
    }

    /// @notice Sends the caller's whole unbonding amount to the caller once it is unlocked.
    function withdraw() external nonReentrant whenNotPaused returns (uint256 amount) {
        Position storage p = _positions[msg.sender];
        amount = p.unbonding;
        if (amount == 0) revert NothingToWithdraw(msg.sender);
        if (block.timestamp < p.unlockAt) revert StillUnbonding(msg.sender, p.unlockAt);
        p.unbonding = 0;
        p.unlockAt = 0;
        totalUnbonding -= amount;
        token.safeTransfer(msg.sender, amount);
        emit Withdrawn(msg.sender, amount);
    }

    // ------------------------------------------------------------------ slashing

    /// @notice Takes `amount` from `provider`, staked first and then unbonding, and sends it to the
    ///         treasury. Reverts when `amount` exceeds maxSlashBps of the provider's staked + unbonding
    ///         (rounded down).
    function slash(address provider, uint256 amount, bytes32 reason)
        external
        onlyRole(SLASHER_ROLE)
        nonReentrant
        whenNotPaused
    {
        if (amount == 0) revert ZeroAmount();
        Position storage p = _positions[provider];
        uint256 cap = ((p.staked + p.unbonding) * maxSlashBps) / BPS;
        if (amount > cap) revert SlashExceedsCap(provider, amount, cap);
        uint256 fromStaked = amount < p.staked ? amount : p.staked;
        uint256 fromUnbonding = amount - fromStaked;
        p.staked -= fromStaked;
        p.unbonding -= fromUnbonding;
        if (p.unbonding == 0) p.unlockAt = 0;
        p.slashed += amount;
        totalStaked -= fromStaked;
        totalUnbonding -= fromUnbonding;
        token.safeTransfer(treasury, amount);
        emit Slashed(provider, amount, reason);
    }

    // ------------------------------------------------------------------ admin

    function setUnbondingPeriod(uint64 seconds_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (seconds_ > MAX_UNBONDING_PERIOD) revert UnbondingPeriodTooLong(seconds_, uint64(MAX_UNBONDING_PERIOD));
        emit UnbondingPeriodUpdated(unbondingPeriod, seconds_);
        unbondingPeriod = seconds_;
    }

    function setMaxSlashBps(uint16 bps) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (bps > BPS) revert BpsOutOfRange(bps);
        emit MaxSlashBpsUpdated(maxSlashBps, bps);
        maxSlashBps = bps;
    }

    function setTreasury(address treasury_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (treasury_ == address(0)) revert ZeroAddress();
        emit TreasuryUpdated(treasury, treasury_);
        treasury = treasury_;
    }

    /// @notice Stops stake, requestUnstake, withdraw and slash. Views and admin functions keep working.
    function pause() external onlyRole(PAUSER_ROLE) {
        _pause();
    }

    function unpause() external onlyRole(PAUSER_ROLE) {
        _unpause();
    }

    // ------------------------------------------------------------------ views

    /// @return staked tokens at stake now
    /// @return unbonding tokens waiting for `unlockAt`
    /// @return unlockAt unix seconds when `withdraw` may take `unbonding` (0 when nothing unbonds)
    /// @return slashed total ever slashed from this provider
    function stakeOf(address provider)
        external
        view
        returns (uint256 staked, uint256 unbonding, uint64 unlockAt, uint256 slashed)
    {
        Position memory p = _positions[provider];
        return (p.staked, p.unbonding, p.unlockAt, p.slashed);
    }
}
